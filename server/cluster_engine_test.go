package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

type fakeStream struct{ ready atomic.Bool }

func (f *fakeStream) Ready() bool { return f.ready.Load() }
func (f *fakeStream) Report() any { return map[string]any{"position": 7} }

// The engine role's /readyz is the single process's plus the stream
// consumer's state: degraded (still 200) while it cannot read. Shutdown
// stops the consumer.
func TestEngineReadyzAddsTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stream := &fakeStream{}
	stopped := make(chan struct{})
	e.srv.RunStreamConsumer(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil }, stream)
	ts := httptest.NewServer(e.srv.Handler())
	defer ts.Close()
	for _, tc := range []struct {
		ready  bool
		status string
	}{{false, "degraded"}, {true, "ready"}} {
		stream.ready.Store(tc.ready)
		resp, err := http.Get(ts.URL + "/readyz")
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, tc.status, body["status"])
		require.Equal(t, "engine", body["role"])
		require.Equal(t, map[string]any{"position": float64(7)}, body["stream"])
	}
	require.NoError(t, e.srv.Shutdown(context.Background()))
	<-stopped
}
