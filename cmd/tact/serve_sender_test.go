package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// The sender role with the tact binary alone: a nats node, the engine with
// cluster.send.enabled and a sender. People triggered into a journey
// through the engine's API are emailed from the sender (the file provider,
// here), and the results are in the engine's database, as in one process.
func TestServeSenderSendsForTheEngine(t *testing.T) {
	t.Parallel()
	env, _ := sampleDB(t)
	env["TACT_LINK_SECRET"] = strings.Repeat("s", 32)
	const admin = "admin-token-for-the-sender-test-0123456789"
	env["TACT_ADMIN_TOKEN"] = admin
	delete(env, "TACT_NOW") // the real clock: the scheduler sends now
	users := sampleUsers(t, env["TACT_DB"])
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent")
	ports := loopbackPorts(t, 1)
	cfg := write(t, dir, "tact.yaml", fmt.Sprintf(`cluster:
  urls: [nats://127.0.0.1:%d]
  server:
    listen: 127.0.0.1:%d
    store_dir: %s
  send:
    enabled: true
    partitions: 3
channels:
  templates: {dir: %s}
  links: {base_url: https://prefs.example.com, keys: ["env:TACT_LINK_SECRET"]}
  email:
    provider: file
    from: {name: Example Shop, address: news@example.com}
    file: {dir: %s}
`, ports[0], ports[0], filepath.Join(dir, "js"), mustAbs(t, "../../testdata/templates"), sent))
	hello := write(t, dir, "hello.yaml", "name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hello\n    send: {channel: email, template: welcome}\n")
	_, stderr, code := tact(t, env, "--config", cfg, "journey", "publish", hello)
	require.Equal(t, 0, code, stderr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nats := startServe(ctx, t, env, "--config", cfg, "serve", "--role", "nats", "--addr", "127.0.0.1:0")
	senderCtx, stopSender := context.WithCancel(ctx)
	defer stopSender()
	sender := startServe(senderCtx, t, env, "--config", cfg, "serve", "--role", "sender", "--addr", "127.0.0.1:0")
	engineCtx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	eng := startServe(engineCtx, t, env, "--config", cfg, "serve", "--role", "engine", "--addr", "127.0.0.1:0")
	var entries []map[string]any
	for _, u := range users {
		entries = append(entries, map[string]any{"user": u})
	}
	body, err := json.Marshal(map[string]any{"entries": entries})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, "http://"+eng.addr+"/api/v1/journeys/hello/trigger", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool {
		code, body, err := getJSON("http://" + sender.addr + "/readyz")
		return err == nil && code == http.StatusOK && body["role"] == "sender"
	}, time.Minute, 100*time.Millisecond, sender.logs.buf.String())
	var files []string
	require.Eventually(t, func() bool {
		files = emlFiles(sent)
		return len(files) > 0
	}, 2*time.Minute, 100*time.Millisecond, eng.logs.buf.String()+sender.logs.buf.String())
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + sender.addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		metrics, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(metrics), `tact_sender_results_total{status="delivered"}`)
	}, time.Minute, 100*time.Millisecond)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "List-Unsubscribe: <https://prefs.example.com/unsubscribe?token=", "the sender signs links with the configured keys")

	// Once every entrant is decided (sent or skipped, none pending),
	// compare the engine's record with what left the sender.
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+eng.addr+"/api/v1/journeys/hello/stats", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var stats struct {
			Steps []struct {
				Entered, Sent, Pending, Failed int64
				Skipped                        map[string]int64
			}
		}
		if json.NewDecoder(resp.Body).Decode(&stats) != nil || len(stats.Steps) != 1 {
			return false
		}
		st := stats.Steps[0]
		skipped := int64(0)
		for _, n := range st.Skipped {
			skipped += n
		}
		return st.Entered == int64(len(users)) && st.Pending == 0 && st.Sent+skipped+st.Failed == st.Entered
	}, time.Minute, 100*time.Millisecond, eng.logs.buf.String())
	stopEngine()
	eng.wait(t)
	stopSender()
	sender.wait(t)
	files = emlFiles(sent)
	st, err := engine.Open(context.Background(), env["TACT_DB"], engine.Options{})
	require.NoError(t, err)
	defer st.Close()
	var delivered int
	require.NoError(t, st.DB().QueryRow(`SELECT count(DISTINCT outbox_id) FROM journey_results WHERE status = 'delivered'`).Scan(&delivered))
	require.Positive(t, delivered)
	require.Equal(t, len(files), delivered, "every email the sender wrote is recorded as delivered, once")
	cancel()
	nats.wait(t)
}

// sampleUsers lists the user ids of the database at path.
func sampleUsers(t *testing.T, path string) []string {
	t.Helper()
	st, err := engine.Open(context.Background(), path, engine.Options{})
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.DB().Query(`SELECT value FROM identities WHERE kind = 'user_id' ORDER BY value`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		require.NoError(t, rows.Scan(&u))
		out = append(out, u)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}

// emlFiles are the emails written to dir (not the provider's temporary
// files, renamed into place when complete).
func emlFiles(dir string) []string {
	all, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var out []string
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), ".") {
			out = append(out, f)
		}
	}
	return out
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
