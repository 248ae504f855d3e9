package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestCheckpointThresholdIsApplied(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  engine.Config
		want string
	}{
		{name: "default", cfg: engine.Config{}, want: "244.1 MiB"}, // 256MB
		{name: "configured", cfg: engine.Config{CheckpointThreshold: "64MB"}, want: "61.0 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := engine.Open(ctx, filepath.Join(t.TempDir(), "c.duckdb"), engine.Options{Config: tc.cfg})
			require.NoError(t, err)
			defer s.Close()
			var got string
			require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT current_setting('checkpoint_threshold')`).Scan(&got))
			require.Equal(t, tc.want, got)
		})
	}
	_, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "b.duckdb"), engine.Options{Config: engine.Config{CheckpointThreshold: "lots"}})
	require.ErrorContains(t, err, `checkpoint_threshold "lots"`)
}

// ingestBulky commits batches of events with large properties until the
// write-ahead log holds at least minWAL bytes, and returns the log's size
// after each commit.
func ingestBulky(t *testing.T, s *engine.Store, minWAL int64) []int64 {
	t.Helper()
	ctx := context.Background()
	props := `{"note":"` + strings.Repeat("x", 4000) + `"}`
	var sizes []int64
	for b := 0; len(sizes) == 0 || sizes[len(sizes)-1] < minWAL; b++ {
		require.Less(t, b, 200, "the log never reached %d bytes", minWAL)
		var ev engine.IngestEvents
		for i := range 500 {
			ev.UserID = append(ev.UserID, fmt.Sprintf("u%d", i%50))
			ev.AnonymousID = append(ev.AnonymousID, "")
			ev.Event = append(ev.Event, "page_viewed")
			ev.TS = append(ev.TS, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			ev.Properties = append(ev.Properties, props)
			ev.Context = append(ev.Context, "")
			ev.MessageID = append(ev.MessageID, fmt.Sprintf("m-%d-%d", b, i))
		}
		_, err := s.Ingest(ctx, engine.IngestBatch{Label: "bulky", Events: ev})
		require.NoError(t, err)
		sizes = append(sizes, walSize(t, s.Path()))
	}
	return sizes
}

func walSize(t *testing.T, db string) int64 {
	t.Helper()
	fi, err := os.Stat(db + ".wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return fi.Size()
}

// DuckDB's own threshold (16 MB) made one ingestion commit in about 150k
// events stall for a checkpoint of seconds; below the store's threshold no
// commit checkpoints.
func TestCommitsBelowTheThresholdDoNotCheckpoint(t *testing.T) {
	t.Parallel()
	s, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "c.duckdb"), engine.Options{})
	require.NoError(t, err)
	defer s.Close()
	sizes := ingestBulky(t, s, 24<<20)
	for i := 1; i < len(sizes); i++ {
		require.Greater(t, sizes[i], sizes[i-1], "commit %d checkpointed: the log went from %d to %d bytes", i, sizes[i-1], sizes[i])
	}
}

// The loop under the real clock: once writes pause, the log is checkpointed
// and what was written is in the database file.
func TestCheckpointWhenQuiet(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.duckdb")
	s, err := engine.Open(context.Background(), path, engine.Options{Config: engine.Config{CheckpointQuiet: 20 * time.Millisecond}})
	require.NoError(t, err)
	defer s.Close()
	ingestBulky(t, s, 17<<20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.CheckpointWhenQuiet(ctx) }()
	require.Eventually(t, func() bool { return walSize(t, path) == 0 }, time.Minute, 10*time.Millisecond)
	cancel()
	<-done
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n))
	require.Positive(t, n)
}

func TestCheckpointWhenQuietReturnsWhenOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := engine.Open(ctx, filepath.Join(t.TempDir(), "c.duckdb"), engine.Options{Config: engine.Config{CheckpointQuiet: -1}})
	require.NoError(t, err)
	defer s.Close()
	s.CheckpointWhenQuiet(ctx) // returns at once: the context never ends
	m, err := engine.Open(ctx, engine.MemoryPath, engine.Options{})
	require.NoError(t, err)
	defer m.Close()
	m.CheckpointWhenQuiet(ctx)
}
