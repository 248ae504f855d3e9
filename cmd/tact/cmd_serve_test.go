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

func TestServeStartsAndStopsGracefully(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "t.duckdb")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &signalWriter{addr: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--db", db, "serve", "--addr", "127.0.0.1:0"}, io.Discard, stderr, func(string) string { return "" })
	}()
	var addr string
	select {
	case addr = <-stderr.addr:
	case code := <-done:
		t.Fatalf("serve exited early with %d: %s", code, stderr.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	resp, err = http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb")}
	_, stderr, code := tact(t, env, "serve", "extra")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage: tact serve")
}
