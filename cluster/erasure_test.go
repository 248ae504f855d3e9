package cluster_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// Erasing a person on the engine purges their messages from the events
// stream: those the engine had not consumed yet never reach the database,
// and a database rebuilt from the stream holds none of their events, while
// everyone else's are all there.
func TestErasurePurgesThePersonFromTheStream(t *testing.T) {
	t.Parallel()
	cfg := testConfig(startCluster(t, 1), 1)
	ingest := startIngestNode(t, cfg, "ingest")
	st := openStore(t, filepath.Join(t.TempDir(), "engine.duckdb"))
	conn := connect(t, cfg, "engine")
	c, stop := runConsumer(t, cfg, st, "engine-consumer")
	for _, prefix := range []string{"a", "b"} {
		require.Equal(t, http.StatusOK, post(http.DefaultClient, ingest.URL, batchBody(prefix, 20)))
	}
	waitConsumed(t, conn, c)
	stop()
	// More of a's events arrive while the engine is not consuming.
	require.Equal(t, http.StatusOK, post(http.DefaultClient, ingest.URL, batchBody("a", 30)))

	st.SetErasureHook(conn.PurgePerson)
	_, err := st.Erase(context.Background(), "u-a", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	// The stream's tail is someone else's (the purged messages leave no
	// tail to wait for).
	require.Equal(t, http.StatusOK, post(http.DefaultClient, ingest.URL, batchBody("c", 5)))
	c, _ = runConsumer(t, cfg, st, "engine-consumer-2")
	waitConsumed(t, conn, c)
	counts := eventCounts(t, st)
	for id := range counts {
		require.False(t, strings.HasPrefix(id, "a-"), "an erased person's event %s came back from the stream", id)
	}
	require.Len(t, counts, 20+5, "b's and c's events")

	rebuilt := openStore(t, filepath.Join(t.TempDir(), "rebuilt.duckdb"))
	c, _ = runConsumer(t, cfg, rebuilt, "rebuild")
	waitConsumed(t, conn, c)
	counts = eventCounts(t, rebuilt)
	require.Len(t, counts, 20+5, "a rebuild holds b's and c's events only: %v", counts)
	_, err = rebuilt.ResolveUser(context.Background(), "u-a")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// An SDK's retry of an erased person's batch, published after the erasure
// and after the stream's duplicate window, reaches the engine with the
// message ids stored the first time: its identify and its events write
// nothing, and the person stays unknown.
func TestARetryAfterErasureMakesNobodyKnown(t *testing.T) {
	t.Parallel()
	cfg := testConfig(startCluster(t, 1), 1)
	cfg.DuplicateWindow = time.Second
	ingest := startIngestNode(t, cfg, "ingest")
	st := openStore(t, filepath.Join(t.TempDir(), "engine.duckdb"))
	conn := connect(t, cfg, "engine")
	c, _ := runConsumer(t, cfg, st, "engine-consumer")
	require.Equal(t, http.StatusOK, post(http.DefaultClient, ingest.URL, batchBody("a", 3)))
	waitConsumed(t, conn, c)
	st.SetErasureHook(conn.PurgePerson)
	_, err := st.Erase(context.Background(), "u-a", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)

	// Past the stream's own de-duplication, the engine's is what stands.
	time.Sleep(cfg.DuplicateWindow + 500*time.Millisecond)
	require.Equal(t, http.StatusOK, post(http.DefaultClient, ingest.URL, batchBody("a", 3)), "the retry")
	waitConsumed(t, conn, c)
	_, err = st.ResolveUser(context.Background(), "u-a")
	require.ErrorIs(t, err, engine.ErrNotFound, "the retry made the erased person known again")
	require.Empty(t, eventCounts(t, st))
}
