package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// openLimitedStore opens a file store whose DuckDB may use memoryLimit on
// one thread; it returns the store and its directory. The memory tests
// import files far larger than a tight limit (48MB); the heap tests give
// DuckDB room (256MB), as what it holds is not what they measure.
func openLimitedStore(t *testing.T, memoryLimit string) (*engine.Store, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig()
	cfg.MemoryLimit = memoryLimit
	cfg.Threads = 1
	s, err := engine.Open(context.Background(), filepath.Join(dir, "t.duckdb"), engine.Options{Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// TestEventImportFitsMemoryLimit: an events file much larger than DuckDB's
// memory_limit imports (issue 16: memory bounded by configuration, not by
// the file). The de-duplication of message ids used a window over whole
// rows, which held every event's properties at once: the 6.4M-event sample
// file failed with "Out of Memory" at the default 1 GB, and this file fails
// the same way at 48 MB.
func TestEventImportFitsMemoryLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dir := openLimitedStore(t, "48MB")
	path := filepath.Join(dir, "events.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	const events, people = 150_000, 500
	pad := strings.Repeat("x", 400)
	for i := range events {
		// Every 1,000th event repeats the message id of the one before.
		id := i
		if i%1000 == 999 {
			id = i - 1
		}
		fmt.Fprintf(w, `{"user_id":"u%d","event":"page_viewed","timestamp":"2026-11-01T10:00:00Z","message_id":"m-%d","properties":{"path":"/p/%d","note":"%s"}}`+"\n",
			i%people, id, i, pad)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	res, err := s.Import(ctx, engine.ImportEvents, path)
	require.NoError(t, err)
	require.Equal(t, events, res.Rows)
	require.Equal(t, events-events/1000, res.EventsAdded)
	require.Equal(t, events/1000, res.EventsDuplicate)
	var first string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT properties->>'path' FROM events WHERE message_id = 'm-998'`).Scan(&first))
	require.Equal(t, "/p/998", first, "a repeated message id keeps its first row")
}
