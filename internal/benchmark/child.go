package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Environment variables of a child process. EnvChild marks any process the
// bench started (a test binary uses it to behave as the tact binary);
// EnvSpec carries a measurement task to `tact bench`.
const (
	EnvChild = "TACT_BENCH_CHILD"
	EnvSpec  = "TACT_BENCH_SPEC"
)

// task is what one child process is asked to do. Fields a task does not
// use stay empty.
type task struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind,omitempty"`   // import kind
	File        string  `json:"file,omitempty"`   // input file
	Out         string  `json:"out,omitempty"`    // output file
	DB          string  `json:"db,omitempty"`     // database file
	Dir         string  `json:"dir,omitempty"`    // scratch directory
	Addr        string  `json:"addr,omitempty"`   // listen or dial address
	Rows        int64   `json:"rows,omitempty"`   // data rows of File
	People      int     `json:"people,omitempty"` // send leg audience
	Conns       int     `json:"conns,omitempty"`  // SMTP connections
	MemoryLimit string  `json:"memory_limit,omitempty"`
	Threads     int64   `json:"threads,omitempty"`
	Segment     segTask `json:"segment,omitempty"`
}

// childOutput is what a child prints on standard output: its sides by
// name, and for the segment leg the full segments/bench result.
type childOutput struct {
	Sides  map[string]Side `json:"sides"`
	Detail json.RawMessage `json:"detail,omitempty"`
	// PeakRSSMiB is the child's own peak, read as it ends (peakrss.go).
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
}

// launcher starts child processes: the tact binary re-executed.
type launcher struct {
	exe string
	env []string
}

func (l launcher) command(ctx context.Context, args []string, extraEnv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, l.exe, args...)
	cmd.Env = append(append(append([]string{}, l.env...), EnvChild+"=1"), extraEnv...)
	return cmd
}

// run executes t in a fresh child and returns its sides, each with the
// child's peak RSS (its own: see peakrss.go).
func (l launcher) run(ctx context.Context, t task) (childOutput, error) {
	spec, err := json.Marshal(t)
	if err != nil {
		return childOutput{}, err
	}
	cmd := l.command(ctx, []string{"bench"}, EnvSpec+"="+string(spec))
	var stdout bytes.Buffer
	stderr := &tail{max: 4096}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		return childOutput{}, &ChildError{Task: t.Name, Err: err, Stderr: stderr.String()}
	}
	var out childOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return childOutput{}, &ChildError{Task: t.Name, Err: fmt.Errorf("reading its result: %w", err), Stderr: stderr.String()}
	}
	rss := out.PeakRSSMiB
	if rss == 0 {
		rss = rusagePeakMiB(cmd.ProcessState)
	}
	for k, s := range out.Sides {
		s.PeakRSSMiB = rss
		out.Sides[k] = s
	}
	return out, nil
}

// runOne is run for tasks with a single side.
func (l launcher) runOne(ctx context.Context, t task) (Side, error) {
	out, err := l.run(ctx, t)
	if err != nil {
		return Side{}, err
	}
	s, ok := out.Sides[sideResult]
	if !ok {
		return Side{}, &ChildError{Task: t.Name, Err: errors.New("no result in its output")}
	}
	return s, nil
}

const sideResult = "result"

// ChildError is a child process that failed; Stderr is the end of what it
// wrote there.
type ChildError struct {
	Task   string
	Err    error
	Stderr string
}

func (e *ChildError) Error() string {
	msg := fmt.Sprintf("bench child %s: %v", e.Task, e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *ChildError) Unwrap() error { return e.Err }

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }

var _ io.Writer = (*tail)(nil)
