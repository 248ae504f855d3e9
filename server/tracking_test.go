package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// TestIngestStopsTrackingWithoutPermission (item 3): /v1/track, page,
// screen and batch calls for a person who withdrew analytics are accepted
// (SDKs must not retry) but not stored, and /metrics counts them by reason.
func TestIngestStopsTrackingWithoutPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"})
	require.NoError(t, e.store.RecordConsent(e.ctx, engine.ConsentInput{ProfileID: id, Purpose: "analytics", Channel: "*", Status: consent.Withdrawn, Source: "test"}))
	e.person(map[string]any{"user_id": "u2"})
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/track", map[string]any{"userId": "u1", "event": "viewed"}},
		{"/v1/page", map[string]any{"userId": "u1", "name": "home"}},
		{"/v1/screen", map[string]any{"userId": "u1", "name": "home"}},
		{"/v1/batch", map[string]any{"batch": []any{map[string]any{"type": "track", "userId": "u1", "event": "a"}, map[string]any{"type": "track", "userId": "u2", "event": "b"}}}},
	} {
		code, body := e.ingest(c.path, c.body)
		require.Equal(t, 200, code, string(body))
	}
	require.Equal(t, 1, e.counts().Events, "only u2's event is stored")
	_, metrics := e.get(e.ts.URL + "/metrics")
	require.Contains(t, metrics, `tact_events_dropped_total{reason="analytics_withdrawn"} 4`)
}
