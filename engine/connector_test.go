package engine

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReplaceDoesNotWaitForCallersItBlocks: a query that asks for a
// connection while a swap waits for one in use (a scheduler tick reading
// through a second connection, an API read) blocks in Connect; database/sql
// already counts it as in use, and the swap used to wait for it until the
// drain timed out and the erasure failed. It must instead swap as soon as
// the real connection is returned, and the blocked query must then run on
// the new database.
func TestReplaceDoesNotWaitForCallersItBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "cur.duckdb")
	next := filepath.Join(dir, "next.duckdb")
	for _, p := range []struct{ path, table string }{{path, "old_db"}, {next, "new_db"}} {
		db, err := sql.Open("duckdb", p.path)
		require.NoError(t, err)
		_, err = db.Exec("CREATE TABLE " + p.table + " (x INTEGER)")
		require.NoError(t, err)
		require.NoError(t, db.Close())
	}
	c, err := newSwapConnector(path, dbSettings{})
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })

	held, err := db.Conn(ctx) // a component mid-tick
	require.NoError(t, err)
	swapped := make(chan error, 1)
	go func() {
		swapped <- c.replace(ctx, db, path, nil, func() error { return os.Rename(next, path) })
	}()
	for c.mu.TryRLock() { // until the swap holds (or waits for) the lock
		c.mu.RUnlock()
		runtime.Gosched()
	}
	queried := make(chan error, 1)
	go func() {
		var n int
		queried <- db.QueryRowContext(ctx, "SELECT count(*) FROM new_db").Scan(&n)
	}()
	for db.Stats().InUse < 2 { // the query is counted, blocked in Connect
		select {
		case err := <-queried:
			t.Fatalf("the query ran before the swap: %v", err)
		default:
			runtime.Gosched()
		}
	}
	require.NoError(t, held.Close())
	require.NoError(t, <-swapped)
	require.NoError(t, <-queried)
}

// TestCompactKeepsWritesMadeWhileItWaits: a write committed on a
// connection Compact is waiting for (the journey runner writes under a lock
// of its own, not the store's) is in the rewritten file. Compact used to
// copy the database before the drain, and such a write was lost with the
// old file.
func TestCompactKeepsWritesMadeWhileItWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "t.duckdb"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	db := st.DB()
	_, err = db.ExecContext(ctx, "CREATE TABLE runner_writes (x INTEGER)")
	require.NoError(t, err)

	held, err := db.Conn(ctx) // a journey tick between its statements
	require.NoError(t, err)
	compacted := make(chan error, 1)
	go func() { compacted <- st.Compact(ctx) }()
	for st.conn.mu.TryRLock() { // until the swap holds (or waits for) the lock
		st.conn.mu.RUnlock()
		runtime.Gosched()
	}
	_, err = held.ExecContext(ctx, "INSERT INTO runner_writes VALUES (42)")
	require.NoError(t, err)
	require.NoError(t, held.Close())
	require.NoError(t, <-compacted)

	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM runner_writes WHERE x = 42").Scan(&n))
	require.Equal(t, 1, n, "the write made while Compact waited survives the rewrite")
}
