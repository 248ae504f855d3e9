package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestActorsReachTheAuditLog: who paused or resumed a journey, and who
// saved a segment, is recorded (the actor is passed, not dropped).
func TestActorsReachTheAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish("name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	for _, op := range []string{"pause", "resume"} {
		code, body, _ := e.do("POST", "/api/v1/journeys/hello/"+op, tokMarketer, nil)
		require.Equal(t, 200, code, string(body))
	}
	code, body, _ := e.do("POST", "/api/v1/segments", tokMarketer, map[string]any{"name": "everyone", "expr": "true"})
	require.Equal(t, 200, code, string(body))
	entries, err := e.store.AuditLog(e.ctx, 0, 1000)
	require.NoError(t, err)
	var got []string
	for _, a := range entries {
		switch a.Action {
		case "journey.state", "segment.saved":
			got = append(got, a.Action+" "+a.Subject+" by "+a.Actor)
		}
	}
	require.Equal(t, []string{
		"journey.state journey:hello by api:marketer",
		"journey.state journey:hello by api:marketer",
		"segment.saved segment:everyone by api:marketer",
	}, got)
}
