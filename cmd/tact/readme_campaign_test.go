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
	"time"

	"github.com/stretchr/testify/require"
)

// TestREADMEFirstCampaign follows the README's "Your first campaign" block
// line by line, under the real clock at today's date: the sample anchored
// today, a preview that would send, a run that writes messages, and a
// one-click unsubscribe through tact serve. Paths are moved into a temporary
// folder; the commands and their flags are the README's own.
func TestREADMEFirstCampaign(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "### Your first campaign")
	require.True(t, ok, "README has the first-campaign section")
	_, rest, ok = strings.Cut(rest, "```sh\n")
	require.True(t, ok)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)

	dir := t.TempDir()
	// The README runs from the repository's root, where the templates
	// folder is found by default; the test runs in cmd/tact and says where.
	templates, err := filepath.Abs("../../testdata/templates")
	require.NoError(t, err)
	env := map[string]string{"TACT_CONFIG": write(t, dir, "tact.yaml", "channels:\n  templates: {dir: "+templates+"}\n")}
	paths := strings.NewReplacer("/tmp/shop", filepath.Join(dir, "shop"), "testdata/", "../../testdata/", "shop.duckdb", filepath.Join(dir, "shop.duckdb"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srv *served
	var link string
	steps := 0
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		line, _, _ = strings.Cut(line, " #")
		line = strings.ReplaceAll(strings.TrimSpace(line), `"$(date -u +%FT%TZ)"`, time.Now().UTC().Format(time.RFC3339))
		words := strings.Fields(paths.Replace(line))
		steps++
		switch {
		case words[0] == "export":
			k, v, _ := strings.Cut(words[1], "=")
			env[k] = v
		case words[0] == "tact" && words[len(words)-1] == "&":
			srv = startServe(ctx, t, env, append(words[1:len(words)-1], "--addr", "127.0.0.1:0")...)
		case words[0] == "tact":
			if i := indexOf(words, "--out"); i > 0 && words[1] == "journey" {
				words[i+1] = filepath.Join(dir, words[i+1])
			}
			out, stderr, code := tact(t, env, words[1:]...)
			require.Equal(t, 0, code, "%s: %s", line, stderr)
			if words[1] == "journey" && words[2] == "preview" {
				require.Contains(t, out, "would send", "at today's date the preview finds people to send to")
			}
			if words[1] == "journey" && words[2] == "stats" {
				require.Regexp(t, `welcome +send +\d+ +\d+ +[1-9]`, out, "the campaign sent")
			}
		case words[0] == "grep":
			emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
			require.NotEmpty(t, emls, "the run wrote messages")
			raw, err := os.ReadFile(emls[0])
			require.NoError(t, err)
			m := regexp.MustCompile(`List-Unsubscribe: <http://localhost:8080(/unsubscribe\?token=[^>]+)>`).FindSubmatch(raw)
			require.NotNil(t, m, "the message's link points at tact serve's default address")
			link = string(m[1])
		case words[0] == "curl":
			require.NotNil(t, srv)
			require.Contains(t, line, "-X POST -d List-Unsubscribe=One-Click 'http://localhost:8080/unsubscribe?token=")
			resp, err := http.Post("http://"+srv.addr+link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			require.Contains(t, string(body), `"unsubscribed":true`)
		default:
			t.Fatalf("the README's block has a line this test does not know: %s", line)
		}
	}
	require.Equal(t, 12, steps, "every line of the block ran")
	cancel()
	srv.wait(t)
}

func indexOf(words []string, w string) int {
	for i, x := range words {
		if x == w {
			return i
		}
	}
	return -1
}
