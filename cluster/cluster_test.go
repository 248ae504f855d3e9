package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/cluster"
)

// Three nodes, Replicas=3, two ingest nodes, the stream leader killed while
// clients ingest: every acknowledged event is in DuckDB exactly once.
// In-process, a kill is the server's Shutdown, which steps its raft leaders
// down first: this covers a leader change and clients losing their server;
// a crash without the step-down costs a 5–6 s election, inside the publish
// timeout (a lost quorum is TestIngestAnswers503WhenTheStreamStalls).
func TestLeaderKilledWhileIngesting(t *testing.T) {
	nodes := startCluster(t, 3)
	cfg := testConfig(nodes, 3)
	ingest := []string{startIngestNode(t, cfg, "ingest-a").URL, startIngestNode(t, cfg, "ingest-b").URL}
	st := openStore(t, filepath.Join(t.TempDir(), "tact.duckdb"))
	consumer, _ := runConsumer(t, cfg, st, "engine")

	const clients, batches, perBatch = 4, 30, 40
	var acked, refused atomic.Int64
	killAt := int64(clients * batches / 3)
	killed := make(chan string, 1)
	go func() {
		// Kill the stream's leader once a third of the batches are in.
		for acked.Load() < killAt {
			time.Sleep(10 * time.Millisecond)
		}
		for _, n := range nodes {
			if n.IsStreamLeader(cfg.Stream) {
				n.Shutdown()
				killed <- n.Name()
				return
			}
		}
		killed <- ""
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				start := time.Now()
				refused.Add(int64(postUntilAcked(t, client, ingest[c%2:], batchBody(fmt.Sprintf("c%d-b%d", c, b), perBatch))))
				if d := time.Since(start); d > time.Second {
					t.Logf("client %d batch %d took %s", c, b, d)
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	dead := <-killed
	require.NotEmpty(t, dead, "a stream leader was found and killed")
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if n.Name() != dead && n.IsStreamLeader(cfg.Stream) {
				return true
			}
		}
		return false
	}, time.Minute, 50*time.Millisecond, "a surviving node leads the stream")
	t.Logf("%d requests refused (503 or no answer) and retried", refused.Load())

	var survivor *cluster.Conn
	for _, n := range nodes {
		if n.Name() != dead {
			survivor = connect(t, cluster.Config{URLs: []string{n.ClientURL()}, Replicas: 3, Token: clusterToken}.WithDefaults(), "check")
			break
		}
	}
	waitConsumed(t, survivor, consumer)
	counts := eventCounts(t, st)
	for c := range clients {
		for b := range batches {
			for i := range perBatch {
				id := fmt.Sprintf("c%d-b%d-%d", c, b, i)
				require.Equal(t, 1, counts[id], "event %s stored once", id)
			}
		}
	}
	require.Len(t, counts, clients*batches*perBatch, "nothing but the acknowledged events")
	var profiles int
	require.NoError(t, st.DB().QueryRow(`SELECT count(*) FROM identities WHERE kind = 'user_id'`).Scan(&profiles))
	require.Equal(t, clients*batches, profiles, "one profile per user, identify rows replayed idempotently")

	// The stream holds personal data: a client without the token is refused.
	_, err := nats.Connect(survivor.ConnectedURL())
	require.ErrorIs(t, err, nats.ErrAuthorization)
}

// An engine restart resumes after the stored position: nothing lost,
// nothing twice.
func TestEngineRestartResumesExactlyOnce(t *testing.T) {
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	ingest := []string{startIngestNode(t, cfg, "ingest").URL}
	check := connect(t, cfg, "check")
	path := filepath.Join(t.TempDir(), "tact.duckdb")
	client := &http.Client{Timeout: 30 * time.Second}

	st := openStore(t, path)
	first, stop := runConsumer(t, cfg, st, "engine-1")
	for b := range 5 {
		postUntilAcked(t, client, ingest, batchBody(fmt.Sprintf("a%d", b), 20))
	}
	waitConsumed(t, check, first)
	before := first.Status().Position
	stop()
	require.NoError(t, st.Close())

	// While the engine is down, ingestion goes on (and a client retries a
	// batch already written: the stream refuses the copies).
	for b := range 5 {
		postUntilAcked(t, client, ingest, batchBody(fmt.Sprintf("b%d", b), 20))
	}
	postUntilAcked(t, client, ingest, batchBody("a0", 20))

	st = openStore(t, path)
	pos, err := st.StreamPosition(context.Background(), cfg.Stream)
	require.NoError(t, err)
	require.Equal(t, before, pos.Seq, "the position survives the restart")
	second, _ := runConsumer(t, cfg, st, "engine-2")
	waitConsumed(t, check, second)
	counts := eventCounts(t, st)
	require.Len(t, counts, 10*20)
	for id, n := range counts {
		require.Equal(t, 1, n, "event %s stored once", id)
	}
}
