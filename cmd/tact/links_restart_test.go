package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLinksSurviveARestart: with no link key configured, a one-click
// unsubscribe link mailed by one tact serve still works after a restart
// (the key is derived from the database's key, never random per process).
func TestLinksSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, out := filepath.Join(dir, "t.duckdb"), filepath.Join(dir, "outbox")
	const admin = "admin-token-for-the-links-test-0123456789"
	env := map[string]string{"TACT_ADMIN_TOKEN": admin}
	seed(t, env, db, dir, "user_id,email,first_name\nu1,u1@example.com,Ann\n",
		"user_id,purpose,channel,status,timestamp\nu1,marketing,email,granted,2026-01-01T00:00:00Z\n")
	args := []string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--templates", "../../testdata/templates", "--out", out}

	call := func(ctx context.Context, addr, method, path, ct, body string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := startServe(ctx, t, env, args...)
	c, body := call(ctx, srv.addr, "POST", "/api/v1/journeys", "", "name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	require.Equal(t, 200, c, body)
	c, body = call(ctx, srv.addr, "POST", "/api/v1/journeys/hello/trigger", "application/json", `{"entries":[{"user":"u1"}]}`)
	require.Equal(t, 200, c, body)
	var eml []byte
	deadline := time.Now().Add(20 * time.Second)
	for len(eml) == 0 && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(out, "*.eml"))
		if len(files) == 1 {
			eml, _ = os.ReadFile(files[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotEmpty(t, eml, "no message sent")
	cancel()
	srv.wait(t)

	m := regexp.MustCompile(`List-Unsubscribe: <[^>]*?(/unsubscribe\?token=[^>]+)>`).FindSubmatch(eml)
	require.NotNil(t, m, string(eml))
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	srv2 := startServe(ctx2, t, env, args...)
	c, body = call(ctx2, srv2.addr, "POST", string(m[1]), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	require.Equal(t, 200, c, body)
	cancel2()
	srv2.wait(t)
	out2, stderr, code := tact(t, env, "--db", db, "consent", "show", "--user", "u1")
	require.Equal(t, 0, code, stderr)
	var shown struct {
		States []struct{ Purpose, Channel, Reason string } `json:"states"`
	}
	require.NoError(t, json.Unmarshal([]byte(out2), &shown), out2)
	found := false
	for _, st := range shown.States {
		if st.Purpose == "marketing" && st.Channel == "email" {
			found = true
			require.Equal(t, "withdrawn", st.Reason, "the unsubscribe from the first process's link was recorded")
		}
	}
	require.True(t, found, out2)
}
