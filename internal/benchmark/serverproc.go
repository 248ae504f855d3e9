package benchmark

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// serverProc is a child process serving HTTP on addr until it is stopped.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *tail
	exited chan struct{}
	err    error // the process's exit, once exited is closed
}

// errExitedEarly: a server child ended before it listened, as it does
// when another process took the port freeAddr chose between that choice and
// the child's bind (a loaded machine's outgoing connections draw from the
// same ports).
var errExitedEarly = errors.New("exited before listening")

// startAttempts bounds how often a server child is started on fresh ports
// after it exited before listening.
const startAttempts = 3

// readyTimeout bounds how long a server child may take to listen (opening
// a large database included).
const readyTimeout = 5 * time.Minute

// startServer starts cmd and waits until addr accepts connections.
func startServer(cmd *exec.Cmd, addr string) (*serverProc, error) {
	p := &serverProc{cmd: cmd, addr: addr, stderr: &tail{max: 4096}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, &ChildError{Task: "server", Err: fmt.Errorf("%w: %w", errExitedEarly, p.err), Stderr: p.stderr.String()}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, &ChildError{Task: "server", Err: fmt.Errorf("not listening on %s after %s", addr, readyTimeout), Stderr: p.stderr.String()}
		}
	}
}

// stop asks the server to shut down (SIGTERM, as an operator would) and
// returns its peak RSS once it has exited cleanly: read while it still
// runs, so its shutdown is not in the figure (peakrss.go).
func (p *serverProc) stop(ctx context.Context) (float64, error) {
	peak, own := vmHWMMiB(strconv.Itoa(p.cmd.Process.Pid))
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.kill()
		return 0, ctx.Err()
	}
	if p.err != nil {
		return 0, &ChildError{Task: "server", Err: p.err, Stderr: p.stderr.String()}
	}
	if !own {
		peak = rusagePeakMiB(p.cmd.ProcessState)
	}
	return peak, nil
}

func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// startOnFreeAddr starts the child cmd builds for a free loopback address,
// and again for a fresh one, up to startAttempts in all, while it exits
// before listening.
func startOnFreeAddr(cmd func(addr string) *exec.Cmd) (*serverProc, string, error) {
	var err error
	for range startAttempts {
		var addr string
		if addr, err = freeAddr(); err != nil {
			return nil, "", err
		}
		var p *serverProc
		if p, err = startServer(cmd(addr), addr); err == nil {
			return p, addr, nil
		}
		if !errors.Is(err, errExitedEarly) {
			return nil, "", err
		}
	}
	return nil, "", err
}

// freeAddr is a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
