package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// signalWriter collects output and reports the listen address once seen.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

var servingRE = regexp.MustCompile(`serving on (\S+)`)

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := servingRE.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.addr <- m[1]
	}
	return len(p), nil
}

// String is the output so far.
func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// served is a tact serve started by startServe.
type served struct {
	addr string
	logs *signalWriter
	done chan int
}

// startServe runs tact with args (a serve command) until ctx ends, with
// env as its environment, and waits until it listens.
func startServe(ctx context.Context, t *testing.T, env map[string]string, args ...string) *served {
	t.Helper()
	s := &served{logs: &signalWriter{addr: make(chan string, 1)}, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, args, io.Discard, s.logs, func(k string) string { return env[k] })
	}()
	select {
	case s.addr = <-s.logs.addr:
	case code := <-s.done:
		t.Fatalf("serve exited early with %d: %s", code, s.logs.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}

// wait waits for a stopped serve to exit with 0.
func (s *served) wait(t *testing.T) {
	t.Helper()
	select {
	case code := <-s.done:
		require.Equal(t, 0, code, s.logs.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeStartsAndStopsGracefully(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "t.duckdb")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, nil, "--db", db, "serve", "--addr", "127.0.0.1:0")
	addr := srv.addr
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	// Ready once ingestion's warm-up is over (docs/operations.md, Health).
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, time.Minute, 20*time.Millisecond)
	cancel()
	srv.wait(t)
}

func TestServeUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb")}
	_, stderr, code := tact(t, env, "serve", "extra")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage: tact serve")
}
