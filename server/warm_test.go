package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// warmingStore is the store as ingestion's importer, with a warm-up that
// waits for release and then answers err.
type warmingStore struct {
	*engine.Store
	release chan struct{}
	err     error
	calls   int
}

func (w *warmingStore) WarmIngestion(ctx context.Context) error {
	w.calls++
	select {
	case <-w.release:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestReadyOnceIngestionIsWarm: /readyz answers 503 "warming_up" while the
// importer warms up, so that a load balancer holds traffic back; requests
// that come anyway are served. Once the warm-up is over, done or failed,
// the server is ready; Shutdown stops a warm-up still running.
func TestReadyOnceIngestionIsWarm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
	}{{"warmed", nil}, {"warm-up failed", errors.New("disk on fire")}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w *warmingStore
			e := newEnv(t, func(_ *Config, o *Options) {
				w = &warmingStore{Store: o.Store, release: make(chan struct{}), err: tc.err}
				o.Importer = w
			})
			status := func() (int, string) {
				code, body, _ := e.do("GET", "/readyz", "", nil)
				var got struct{ Status string }
				require.NoError(t, json.Unmarshal(body, &got), string(body))
				return code, got.Status
			}
			code, st := status()
			require.Equal(t, http.StatusServiceUnavailable, code)
			require.Equal(t, "warming_up", st)
			code, body := e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "Early", "messageId": "m-1"})
			require.Equal(t, http.StatusOK, code, string(body), "a request during the warm-up is served")

			close(w.release)
			require.Eventually(t, func() bool { c, _ := status(); return c == http.StatusOK }, 10*time.Second, 10*time.Millisecond)
			_, st = status()
			require.Equal(t, "ready", st)
			require.Equal(t, 1, w.calls)
		})
	}
	t.Run("shutdown stops it", func(t *testing.T) {
		t.Parallel()
		var w *warmingStore
		e := newEnv(t, func(_ *Config, o *Options) {
			w = &warmingStore{Store: o.Store, release: make(chan struct{})}
			o.Importer = w
		})
		require.NoError(t, e.srv.Shutdown(context.Background()))
		require.True(t, e.srv.warm.over())
	})
}
