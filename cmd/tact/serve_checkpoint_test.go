package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tact serve checkpoints on its own once ingestion pauses (checkpoint_quiet),
// under the real clock, so the log a crash would replay stays short.
func TestServeCheckpointsWhenIngestionPauses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	cfg := filepath.Join(dir, "tact.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("checkpoint_quiet: 100ms\nserver:\n  rate_limit:\n    disabled: true\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, map[string]string{"TACT_WRITE_KEY": "wk-test-key", "TACT_LOG": "info"}, "--db", db, "--config", cfg, "serve", "--addr", "127.0.0.1:0")
	wal := func() int64 {
		fi, err := os.Stat(db + ".wal")
		if errors.Is(err, fs.ErrNotExist) {
			return 0
		}
		require.NoError(t, err)
		return fi.Size()
	}
	note := strings.Repeat("x", 4000)
	var last int64
	// Up to 16 MB (DuckDB's own threshold, and the least a quiet checkpoint
	// takes) the log only grows: no commit checkpoints.
	for b := 0; last < 16<<20; b++ {
		require.Less(t, b, 200, "the log never reached 16 MB")
		var sb strings.Builder
		sb.WriteString(`{"batch":[`)
		for i := range 100 {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"type":"track","userId":"u%d","event":"page_viewed","messageId":"m-%d-%d","timestamp":"2026-11-30T11:00:00Z","properties":{"note":%q}}`, i%20, b, i, note)
		}
		sb.WriteString("]}")
		req, err := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/v1/batch", bytes.NewReader([]byte(sb.String())))
		require.NoError(t, err)
		req.SetBasicAuth("wk-test-key", "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		size := wal()
		require.Greater(t, size, last, "a commit checkpointed")
		last = size
	}
	// Ingestion has paused: the log is moved into the database file while
	// the server runs.
	require.Eventually(t, func() bool { return wal() == 0 }, time.Minute, 20*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(srv.logs.String(), "checkpointed while writes paused") }, time.Minute, 20*time.Millisecond)
	cancel()
	srv.wait(t)
}
