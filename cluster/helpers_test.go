package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/server"
)

// now is the tests' fixed instant: events are dated just before it.
var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a constant instant

const writeKey = "wk-server"

// freeAddrs reserves n loopback addresses for cluster routes, which every
// node must know before any starts.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		require.NoError(t, ln.Close())
	}
	return out
}

// startCluster starts n embedded servers routed to each other.
func startCluster(t *testing.T, n int) []*cluster.Node {
	t.Helper()
	addrs := freeAddrs(t, n)
	var routes []string
	for _, a := range addrs {
		routes = append(routes, "nats-route://"+a)
	}
	nodes := make([]*cluster.Node, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := cluster.ServerConfig{Name: "n" + strconv.Itoa(i), Listen: "127.0.0.1:0", StoreDir: filepath.Join(t.TempDir(), "js")}
			token := ""
			if n > 1 {
				sc.Cluster, sc.ClusterListen, sc.Routes = "test", addrs[i], routes
				token = clusterToken // routes and clients authenticate
			}
			nodes[i], errs[i] = cluster.StartNode(sc, token, nil)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		t.Cleanup(nodes[i].Shutdown)
	}
	return nodes
}

func clientURLs(nodes []*cluster.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ClientURL())
	}
	return out
}

// clusterToken authenticates the clients and routes of multi-node test
// clusters.
const clusterToken = "test-cluster-token-0123456789"

// testConfig is a cluster configuration for nodes.
func testConfig(nodes []*cluster.Node, replicas int) cluster.Config {
	c := cluster.Config{URLs: clientURLs(nodes), Replicas: replicas, BatchSize: 500}
	if len(nodes) > 1 {
		c.Token = clusterToken
	}
	return c.WithDefaults()
}

func connect(t *testing.T, cfg cluster.Config, name string) *cluster.Conn {
	t.Helper()
	c, err := cluster.Connect(cfg, name, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, c.EnsureStream(ctx))
	return c
}

// startIngestNode serves an ingest node over HTTP on loopback.
func startIngestNode(t *testing.T, cfg cluster.Config, name string) *httptest.Server {
	t.Helper()
	conn := connect(t, cfg, name)
	rules, err := engine.Open(context.Background(), engine.MemoryPath, engine.Options{Clock: clock.Fixed(now)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rules.Close() })
	metrics := cluster.NewMetrics()
	pub := cluster.NewPublisher(conn, metrics)
	srv, err := server.NewIngestNode(server.Options{
		Config: server.Config{WriteKeys: server.WriteKeyList{{Key: writeKey, Trust: server.TrustServer}, {Key: "wk-client", Trust: server.TrustClient}}},
		Store:  rules, Clock: clock.Fixed(now),
	}, pub, conn.StreamReady)
	require.NoError(t, err)
	require.NoError(t, metrics.Register(srv.Metrics().Registry()))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Shutdown(context.Background()) })
	return hs
}

func openStore(t *testing.T, path string) *engine.Store {
	t.Helper()
	st, err := engine.Open(context.Background(), path, engine.Options{Clock: clock.Fixed(now)})
	require.NoError(t, err)
	// Registered before any consumer's stop, so it runs after it.
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// runConsumer runs an engine consumer over st until the returned stop is
// called.
func runConsumer(t *testing.T, cfg cluster.Config, st cluster.Store, name string) (*cluster.Consumer, func()) {
	t.Helper()
	conn := connect(t, cfg, name)
	c := cluster.NewConsumer(conn, st, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return c, stop
}

// batchBody is a /v1/batch of n track events with ids prefix-0..n-1 and
// an identify of the client's user.
func batchBody(prefix string, n int) []byte {
	msgs := []map[string]any{{"type": "identify", "userId": "u-" + prefix, "messageId": prefix + "-identify",
		"traits": map[string]any{"plan": "pro"}, "timestamp": now.Add(-time.Hour).Format(time.RFC3339)}}
	for i := range n {
		msgs = append(msgs, map[string]any{"type": "track", "userId": "u-" + prefix, "event": "viewed",
			"messageId": fmt.Sprintf("%s-%d", prefix, i), "properties": map[string]any{"i": i},
			"timestamp": now.Add(-time.Minute).Format(time.RFC3339)})
	}
	b, _ := json.Marshal(map[string]any{"batch": msgs})
	return b
}

// post sends body to url with the write key; it reports the status (0 for
// a transport error).
func post(client *http.Client, url string, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.SetBasicAuth(writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// postUntilAcked retries body (same message ids) across the ingest nodes
// until one answers 200, as a client must.
// It returns how many attempts were refused.
func postUntilAcked(t *testing.T, client *http.Client, urls []string, body []byte) int {
	for i := 0; ; i++ {
		status := post(client, urls[i%len(urls)], body)
		if status == http.StatusOK {
			return i
		}
		if status != http.StatusServiceUnavailable && status != 0 {
			t.Errorf("ingest answered %d; want 200 or 503", status)
			return i
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventCounts is how many times each message id is stored.
func eventCounts(t *testing.T, st *engine.Store) map[string]int {
	t.Helper()
	rows, err := st.DB().Query(`SELECT message_id, count(*) FROM events GROUP BY message_id`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// waitConsumed waits until the consumer's position reaches the stream's
// last sequence.
func waitConsumed(t *testing.T, conn *cluster.Conn, c *cluster.Consumer) {
	t.Helper()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		last, err := conn.LastSequence(ctx)
		return err == nil && c.Status().Position >= last
	}, time.Minute, 50*time.Millisecond)
}
