package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeKeepsWorkingAfterErasure runs tact serve under the real clock:
// publish a journey, erase a person through the API (which rewrites the
// database file), and the journey endpoints, the scheduler and the sends
// go on working without a restart.
func TestServeKeepsWorkingAfterErasure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	out := filepath.Join(dir, "outbox")
	const admin = "admin-token-for-the-erasure-test-0123456789"
	env := map[string]string{"TACT_ADMIN_TOKEN": admin}
	seed(t, env, db, dir,
		"user_id,email,first_name\nu1,u1@example.com,Ann\nu2,u2@example.com,Bob\nu3,u3@example.com,Cat\n",
		"user_id,purpose,channel,status,timestamp\nu1,marketing,email,granted,2026-01-01T00:00:00Z\nu2,marketing,email,granted,2026-01-01T00:00:00Z\nu3,marketing,email,granted,2026-01-01T00:00:00Z\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, env, "--db", db, "serve", "--addr", "127.0.0.1:0", "--templates", "../../testdata/templates", "--out", out)
	addr, logs := srv.addr, srv.logs
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	c, body := call("POST", "/api/v1/journeys", "name: hello\npurpose: marketing\nentry: api\nreentry: always\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	require.Equal(t, 200, c, body)
	c, body = call("POST", "/api/v1/privacy/erase", `{"user":"u2"}`)
	require.Equal(t, 200, c, body)

	c, body = call("GET", "/api/v1/journeys", "")
	require.Equal(t, 200, c, "%s\n%s", body, logs.buf.String())
	c, body = call("POST", "/api/v1/journeys/hello/trigger", `{"entries":[{"user":"u1"},{"user":"u3"}]}`)
	require.Equal(t, 200, c, body)
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, err := filepath.Glob(filepath.Join(out, "*.eml"))
		require.NoError(t, err)
		if len(files) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sends after the erasure: %d .eml files; logs: %s", len(files), logs.buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, body = call("GET", "/api/v1/journeys/hello/stats", "")
	require.Equal(t, 200, c, body)
	c, body = call("GET", "/readyz", "")
	require.Equal(t, 200, c, body)
	var ready map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &ready))
	require.Equal(t, true, ready["scheduler"].(map[string]any)["healthy"], body)
	cancel()
	srv.wait(t)
}
