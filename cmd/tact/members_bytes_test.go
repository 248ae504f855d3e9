package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMembersSameBytesFromCLIAndAPI: one audience exporter. For every
// format, tact segment members and POST /api/v1/segments/members return the
// same bytes, with contact fields (the CLI's --all-fields, an admin token)
// and without (ids only).
func TestMembersSameBytesFromCLIAndAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	const admin = "admin-token-for-the-members-test-0123456789"
	const reader = "marketer-token-for-the-members-test-012345"
	env := map[string]string{"TACT_ADMIN_TOKEN": admin}
	_, stderr, code := tact(t, env, "--db", db, "import", "profiles", write(t, dir, "p.csv",
		"user_id,email,phone,country,timezone\nu1,u1@example.com,+66811111111,TH,Asia/Bangkok\nu2,u2@example.com,,TH,\nu3,,+66833333333,US,America/New_York\n"))
	require.Equal(t, 0, code, stderr)
	const expr = `country == "TH" or country == "US"`
	cli := map[string][]byte{}
	for _, f := range []string{"csv", "jsonl", "parquet", "arrow"} {
		for _, all := range []bool{true, false} {
			out := filepath.Join(dir, f+map[bool]string{true: ".all", false: ".ids"}[all])
			args := []string{"--db", db, "segment", "members", expr, "--format", f, "--out", out}
			if all {
				args = append(args, "--all-fields")
			}
			_, stderr, code := tact(t, env, args...)
			require.Equal(t, 0, code, stderr)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			require.NotEmpty(t, b)
			cli[filepath.Base(out)] = b
		}
	}
	cfg := write(t, dir, "tact.yaml", "server:\n  tokens:\n    - {name: ops, role: admin, token: \""+admin+"\"}\n    - {name: crm, role: marketer, token: \""+reader+"\"}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, nil, "--db", db, "--config", cfg, "serve", "--addr", "127.0.0.1:0")
	for name, want := range cli {
		format, kind, _ := strings.Cut(name, ".")
		tok := admin
		if kind == "ids" {
			tok = reader
		}
		body := `{"expr":` + quoteJSON(expr) + `,"format":"` + format + `"}`
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+srv.addr+"/api/v1/segments/members", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, string(got))
		require.True(t, bytes.Equal(want, got), "%s: CLI and API bytes differ", name)
	}
	cancel()
	srv.wait(t)
}

func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
