package cluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/cluster"
)

func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func readyz(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body))
	return resp.StatusCode, body
}

// With the NATS server gone, an ingest node answers 503 once the publish
// timeout passes (never 200: nothing was acknowledged) and its /readyz says
// so; the client's retry with the same ids after the server is back is
// stored once.
func TestIngestAnswers503WhenTheStreamStalls(t *testing.T) {
	t.Parallel()
	addr := freeAddrs(t, 1)[0]
	sc := cluster.ServerConfig{Name: "solo", Listen: addr, StoreDir: filepath.Join(t.TempDir(), "js")}
	node, err := cluster.StartNode(sc, "", nil)
	require.NoError(t, err)
	cfg := testConfig([]*cluster.Node{node}, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	code, body := readyz(t, url)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ingest", body["role"])

	node.Shutdown()
	body1 := batchBody("stalled", 5)
	require.Equal(t, http.StatusServiceUnavailable, post(http.DefaultClient, url, body1), "no ack: 503")
	code, body = readyz(t, url)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "stream_unavailable", body["status"])
	require.Contains(t, metricsText(t, url), `tact_cluster_publish_failures_total{reason="stall"} 1`)

	node, err = cluster.StartNode(sc, "", nil)
	require.NoError(t, err)
	t.Cleanup(node.Shutdown)
	postUntilAcked(t, &http.Client{Timeout: 30 * time.Second}, []string{url}, body1)
	postUntilAcked(t, &http.Client{Timeout: 30 * time.Second}, []string{url}, body1)

	st := openStore(t, filepath.Join(t.TempDir(), "tact.duckdb"))
	check := connect(t, cfg, "check")
	consumer, _ := runConsumer(t, cfg, st, "engine")
	waitConsumed(t, check, consumer)
	counts := eventCounts(t, st)
	require.Len(t, counts, 5)
	for id, n := range counts {
		require.Equal(t, 1, n, "event %s stored once", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, err := check.LastSequence(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, last, uint64(6), "the stream refused the retries' copies (5 events and an identify)")
}
