package server

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJourneyFailuresEndpoint: a journey's failed sends are listed over the
// API with the provider's reason and counted by reason.
func TestJourneyFailuresEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish("name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	code, body, _ := e.do("POST", "/api/v1/journeys/hello/trigger", tokMarketer, map[string]any{"entries": []any{map[string]any{"user": "u1"}}})
	require.Equal(t, 200, code, string(body))
	e.tick()
	// The provider later reports the send failed (a second result row).
	_, err := e.store.DB().ExecContext(e.ctx, `INSERT INTO journey_results
SELECT id, 2, ?::TIMESTAMP, 'failed', NULL, 'smtp:550', NULL FROM journey_outbox WHERE journey = 'hello'`, e.clk.Now())
	require.NoError(t, err)
	code, body, _ = e.do("GET", "/api/v1/journeys/hello/failures", tokRead, nil)
	require.Equal(t, 200, code, string(body))
	var got FailureList
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got.Failures, 1)
	require.Equal(t, "smtp:550", got.Failures[0].Reason)
	require.Equal(t, "hi", got.Failures[0].Step)
	require.Equal(t, 1, got.ByReason[0].Count)
	code, _, _ = e.do("GET", "/api/v1/journeys/nope/failures", tokRead, nil)
	require.Equal(t, 404, code)
}
