package main

import (
	"context"
	"io"
	"testing"
	"time"
)

// served is a tact serve running in the test process under the real clock.
type served struct {
	ctx    context.Context
	addr   string
	logs   *signalWriter
	cancel context.CancelFunc
	done   chan int
}

// startServe runs tact with args (a serve command on 127.0.0.1:0) and
// waits until it listens.
func startServe(t *testing.T, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &served{ctx: ctx, cancel: cancel, logs: &signalWriter{addr: make(chan string, 1)}, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, args, io.Discard, s.logs, func(k string) string { return env[k] }) }()
	select {
	case s.addr = <-s.logs.addr:
	case c := <-s.done:
		t.Fatalf("serve exited early with %d: %s", c, s.logs.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}

// stop ends the server and checks it exits cleanly.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case c := <-s.done:
		if c != 0 {
			t.Fatalf("serve exited with %d: %s", c, s.logs.buf.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}
