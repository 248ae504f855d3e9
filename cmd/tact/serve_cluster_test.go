package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// loopbackPorts reserves n loopback ports the nodes' configurations name
// before any node starts.
func loopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		require.NoError(t, ln.Close())
	}
	return ports
}

// getJSON reads url's JSON answer.
func getJSON(url string) (int, map[string]any, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, err
}

// Three nodes with the tact binary alone (the README's recipe): three
// --role nats, an ingest node and the engine. An event posted to the
// ingest node reaches the engine's database; each role's /readyz names it.
func TestServeRolesThreeNodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ports := loopbackPorts(t, 6)
	var urls, routes []string
	for i := range 3 {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
	}
	clusterYAML := func(i int) string {
		return fmt.Sprintf(`cluster:
  urls: [%s]
  replicas: 3
  token: env:TACT_NATS_TOKEN
  server:
    name: n%d
    listen: 127.0.0.1:%d
    cluster_listen: 127.0.0.1:%d
    routes: [%s]
    store_dir: %s
server:
  write_keys:
    - {key: wk-test-key, trust: server}
`, strings.Join(urls, ", "), i, ports[i], ports[3+i], strings.Join(routes, ", "), filepath.Join(dir, fmt.Sprintf("nats-%d", i)))
	}
	env := map[string]string{"TACT_NOW": "2026-11-30T12:00:00Z", "TACT_NATS_TOKEN": "a-token-for-the-test-cluster"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var nats []*served
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("tact-%d.yaml", i))
		require.NoError(t, os.WriteFile(path, []byte(clusterYAML(i)), 0o600))
		nats = append(nats, startServe(ctx, t, env, "--config", path, "serve", "--role", "nats", "--addr", "127.0.0.1:0"))
	}
	cfg := filepath.Join(dir, "tact-0.yaml")
	ingest := startServe(ctx, t, env, "--config", cfg, "serve", "--role", "ingest", "--addr", "127.0.0.1:0")
	db := filepath.Join(dir, "engine.duckdb")
	engineCtx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	eng := startServe(engineCtx, t, env, "--db", db, "--config", cfg, "serve", "--role", "engine", "--addr", "127.0.0.1:0")

	// The cluster elects its leaders and the stream is created: the ingest
	// node becomes ready.
	require.Eventually(t, func() bool {
		code, _, err := getJSON("http://" + ingest.addr + "/readyz")
		return err == nil && code == http.StatusOK
	}, time.Minute, 100*time.Millisecond, ingest.logs.buf.String())
	for _, n := range nats {
		// Each node is ready once it follows the meta leader.
		require.Eventually(t, func() bool {
			code, body, err := getJSON("http://" + n.addr + "/readyz")
			return err == nil && code == http.StatusOK && body["role"] == "nats"
		}, time.Minute, 100*time.Millisecond)
		resp, err := http.Get("http://" + n.addr + "/metrics")
		require.NoError(t, err)
		metrics, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, string(metrics), "tact_nats_ready 1")
	}

	batch := `{"batch":[{"type":"identify","userId":"u1","messageId":"i1","traits":{"plan":"pro"},"timestamp":"2026-11-30T11:00:00Z"},` +
		`{"type":"track","userId":"u1","event":"opened","messageId":"e1","timestamp":"2026-11-30T11:00:00Z"},` +
		`{"type":"track","userId":"u1","event":"clicked","messageId":"e2","timestamp":"2026-11-30T11:00:01Z"}]}`
	req, err := http.NewRequest(http.MethodPost, "http://"+ingest.addr+"/v1/batch", bytes.NewReader([]byte(batch)))
	require.NoError(t, err)
	req.SetBasicAuth("wk-test-key", "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The admin API is not on the ingest node.
	code, _, err := getJSON("http://" + ingest.addr + "/api/v1/segments")
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, code)

	require.Eventually(t, func() bool {
		code, body, err := getJSON("http://" + eng.addr + "/readyz")
		if err != nil || code != http.StatusOK || body["role"] != "engine" {
			return false
		}
		stream, _ := body["stream"].(map[string]any)
		pos, _ := stream["position"].(float64)
		return pos >= 3
	}, time.Minute, 100*time.Millisecond, eng.logs.buf.String())
	stopEngine()
	eng.wait(t)

	st, err := engine.Open(context.Background(), db, engine.Options{})
	require.NoError(t, err)
	defer st.Close()
	var events int
	require.NoError(t, st.DB().QueryRow(`SELECT count(*) FROM events WHERE message_id IN ('e1', 'e2')`).Scan(&events))
	require.Equal(t, 2, events)
	require.NoError(t, st.DB().QueryRow(`SELECT count(*) FROM identities WHERE kind = 'user_id' AND value = 'u1'`).Scan(&events))
	require.Equal(t, 1, events)
	cancel()
	ingest.wait(t)
	for _, n := range nats {
		n.wait(t)
	}
}

func TestServeRejectsUnknownRole(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb")}
	_, stderr, code := tact(t, env, "serve", "--role", "postman")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `serve --role: "postman" (want all, ingest, engine, sender or nats)`)
}

func TestClusterConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, role, want string
	}{
		{"replicas", "cluster:\n  replicas: 7\n", "ingest", "config: cluster.replicas: 7 (want 1 to 5)"},
		{"token variable unset", "cluster:\n  token: env:TACT_NO_SUCH_TOKEN\n", "engine", "config: cluster.token: $TACT_NO_SUCH_TOKEN is not set"},
		{"ingest without write keys", "cluster:\n  replicas: 1\n", "ingest", "config: server.write_keys: an ingest node needs at least one write key (or TACT_WRITE_KEY)"},
		{"open NATS", "cluster:\n  server:\n    listen: 0.0.0.0:0\n", "nats", "config: cluster.token: required when the NATS server listens beyond loopback"},
		{"partitions", "cluster:\n  send:\n    partitions: 0\n    enabled: true\n    batch: -1\n", "engine", "config: cluster.send.batch: -1 (want 1 to 10000)"},
		{"sender without channels", "cluster:\n  send:\n    enabled: true\n", "sender", "config: channels: a sender needs the channels section the engine uses"},
		{"sender without link keys", "cluster:\n  send:\n    enabled: true\nchannels:\n  webhook: {}\n", "sender", "config: channels.links.keys: a sender signs links without the engine's database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "tact.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o600))
			_, stderr, code := tact(t, map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb")}, "--config", path, "serve", "--role", tc.role, "--addr", "127.0.0.1:0")
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}
