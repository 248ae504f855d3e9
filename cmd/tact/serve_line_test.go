package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/line"
)

// TestServeWiresLINE: a tact.yaml whose only channel is LINE gives a server
// with the LINE webhook (signature checked) and the LINE channel in
// /readyz.
func TestServeWiresLINE(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tact.yaml")
	tpl, err := filepath.Abs("../../testdata/templates")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, []byte(`channels:
  templates:
    dir: `+tpl+`
  line:
    channel_access_token: env:LINE_TOKEN
    channel_secret: env:LINE_SECRET
    provider_id: "2001234567"
`), 0o600))
	env := map[string]string{"LINE_TOKEN": "line-token", "LINE_SECRET": "line-secret"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, env, "--db", filepath.Join(dir, "t.duckdb"), "--config", cfg, "serve", "--addr", "127.0.0.1:0")
	addr := srv.addr
	body := []byte(`{"destination":"Ubot","events":[]}`)
	for _, tc := range []struct {
		name, sig string
		status    int
	}{
		{"signed", line.Sign([]byte("line-secret"), body), http.StatusOK},
		{"signed with another secret", line.Sign([]byte("other"), body), http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/line", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(line.SignatureHeader, tc.sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode, tc.name)
	}
	// Ready once ingestion's warm-up is over (docs/operations.md, Health).
	var ready []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		ready, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK
	}, time.Minute, 20*time.Millisecond)
	require.Contains(t, string(ready), `"line":{"paused":false`)
	cancel()
	srv.wait(t)
}
