package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeptDemoOpensAndItsLinksWork: `tact --db F demo --out D` leaves a
// database the other commands open and an outbox whose one-click
// unsubscribe links tact serve on F accepts, under the real clock. Without
// --db the demo says that nothing was kept and how to keep it.
func TestKeptDemoOpensAndItsLinksWork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, out := filepath.Join(dir, "demo.duckdb"), filepath.Join(dir, "demo-outbox")
	stdout, stderr, code := tact(t, map[string]string{}, "--db", db, "demo", "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "The database is in "+db)
	require.Contains(t, stdout, "The messages are in "+out)

	emls, _ := filepath.Glob(filepath.Join(out, "*.eml"))
	require.NotEmpty(t, emls, "the outbox is kept")
	raw, err := os.ReadFile(emls[0])
	require.NoError(t, err)
	m := regexp.MustCompile(`List-Unsubscribe: <http://localhost:8080(/unsubscribe\?token=[^>]+)>`).FindSubmatch(raw)
	require.NotNil(t, m, "links point at tact serve's default address: %s", raw)

	stats, stderr, code := tact(t, map[string]string{}, "--db", db, "journey", "list")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stats, "paused", "the demo journey, whose templates live in the binary, is left paused")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, map[string]string{}, "--db", db, "serve", "--addr", "127.0.0.1:0")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.addr+string(m[1]), strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the demo's link is signed with the database's key: %s", body)
	cancel()
	srv.wait(t)

	stdout, stderr, code = tact(t, map[string]string{}, "demo")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "both are gone. To keep them and look inside:\n  tact --db demo.duckdb demo --out demo-outbox\n")
}
