package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandsGoThroughARunningServer: while tact serve holds the database
// file, CLI commands given --server run through its API (under the real
// clock), and commands that need the file say so.
func TestCommandsGoThroughARunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	const admin = "admin-token-for-the-remote-cli-test-0123456"
	env := map[string]string{"TACT_ADMIN_TOKEN": admin}
	seed(t, env, db, dir,
		"user_id,email,plan\nu1,u1@example.com,gold\nu2,u2@example.com,gold\nu3,u3@example.com,free\n",
		"user_id,purpose,channel,status,timestamp\nu1,marketing,email,granted,2026-01-01T00:00:00Z\nu2,marketing,email,granted,2026-01-01T00:00:00Z\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, env, "--db", db, "serve", "--addr", "127.0.0.1:0")
	url := "http://" + srv.addr
	remote := map[string]string{"TACT_SERVER": url, "TACT_TOKEN": admin}

	out, stderr, code := tact(t, env, "--server", url, "segment", "count", `plan == "gold"`, "--purpose", "marketing", "--channel", "email")
	require.Equal(t, 0, code, stderr)
	var count map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &count))
	require.EqualValues(t, 2, count["count"], out)

	out, stderr, code = tact(t, remote, "profile", "show", "--user", "u1@example.com")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, `"user_id": "u1"`)

	_, stderr, code = tact(t, remote, "consent", "set", "--user", "u2", "--purpose", "marketing", "--channel", "email", "--status", "withdrawn")
	require.Equal(t, 0, code, stderr)
	members := filepath.Join(dir, "members.csv")
	_, stderr, code = tact(t, env, "segment", "members", `plan == "gold"`, "--purpose", "marketing", "--channel", "email", "--traits", "plan", "--out", members, "--server="+url)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(members)
	require.NoError(t, err)
	st, err := os.Stat(members)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "an export holds personal data")
	require.Contains(t, string(data), "u1@example.com")
	require.Contains(t, string(data), "gold", "--traits went through the API")
	require.NotContains(t, string(data), "u2@example.com", "the withdrawal made through --server took effect at once")

	out, stderr, code = tact(t, remote, "audit", "log")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "segment members", "the export through the API is audited by the server")

	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"file command", remote, []string{"import", "profiles", "x.csv"}, 1,
			"tact: import profiles works on the database file and cannot go through --server; stop tact serve first, or use the API (docs/http.md)\n"},
		{"no token", map[string]string{}, []string{"--server", url, "segment", "list"}, 2,
			"tact: --server needs an API token in TACT_TOKEN (or TACT_ADMIN_TOKEN)\n"},
		{"wrong token", map[string]string{"TACT_TOKEN": "nope"}, []string{"--server", url, "segment", "list"}, 1,
			"tact: server: invalid token (HTTP 401 unauthorized)\n"},
		{"bad expression", remote, []string{"segment", "count", "plan =="}, 1, "tact: server: expr: "},
		{"not a URL", map[string]string{"TACT_TOKEN": admin}, []string{"--server", "localhost:8080", "segment", "list"}, 2,
			"tact: --server: \"localhost:8080\" is not an http(s) URL\n"},
	}
	for _, tc := range cases {
		_, stderr, code := tact(t, tc.env, tc.args...)
		require.Equal(t, tc.code, code, "%s: %s", tc.name, stderr)
		require.True(t, strings.HasPrefix(stderr, tc.want), "%s: %s", tc.name, stderr)
	}
	cancel()
	srv.wait(t)
}
