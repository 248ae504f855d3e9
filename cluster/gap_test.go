package cluster_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Messages the stream dropped before the engine read them (max_age, a
// purge) are a gap the engine reports; it goes on with what remains.
func TestEngineReportsMessagesGoneFromTheStream(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	client := &http.Client{Timeout: 30 * time.Second}
	for _, p := range []string{"gone", "kept"} {
		postUntilAcked(t, client, []string{url}, batchBody(p, 10)) // 11 messages each
	}
	nc, err := nats.Connect(nodes[0].ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cfg.Stream)
	require.NoError(t, err)
	require.NoError(t, s.Purge(ctx, jetstream.WithPurgeSequence(12)))

	st := openStore(t, filepath.Join(t.TempDir(), "tact.duckdb"))
	check := connect(t, cfg, "check")
	consumer, _ := runConsumer(t, cfg, st, "engine")
	waitConsumed(t, check, consumer)
	require.Equal(t, "11 messages after position 0 are no longer in the stream", consumer.Status().Error)
	counts := eventCounts(t, st)
	require.Len(t, counts, 10, "the remaining batch is written")
	require.Equal(t, 1, counts["kept-0"])
}

// A stream deleted and made again restarts its sequences at 1: the engine
// notices (its creation time differs from the stored one) and reads the new
// stream from its start instead of waiting past the old position.
func TestEngineReadsARecreatedStreamFromItsStart(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	client := &http.Client{Timeout: 30 * time.Second}
	path := filepath.Join(t.TempDir(), "tact.duckdb")
	check := connect(t, cfg, "check")

	postUntilAcked(t, client, []string{url}, batchBody("old", 10))
	st := openStore(t, path)
	first, stop := runConsumer(t, cfg, st, "engine-1")
	waitConsumed(t, check, first)
	stop()

	nc, err := nats.Connect(nodes[0].ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, js.DeleteStream(t.Context(), cfg.Stream))
	connect(t, cfg, "recreate") // makes the stream again
	postUntilAcked(t, client, []string{url}, batchBody("new", 3))

	second, _ := runConsumer(t, cfg, st, "engine-2")
	waitConsumed(t, check, second)
	require.Contains(t, second.Status().Error, "the stream was made again after position 11")
	counts := eventCounts(t, st)
	require.Len(t, counts, 13)
	require.Equal(t, 1, counts["new-2"])
}
