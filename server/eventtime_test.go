package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIngestRefusesInsaneTimestamps (item 8): a write-key message whose
// timestamp is beyond the skew (24 h ahead) or before 2000 answers 400
// naming the field and stores nothing; one within the skew is accepted.
func TestIngestRefusesInsaneTimestamps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name  string
		msg   map[string]any
		field string
	}{
		{"far future track", map[string]any{"userId": "victim", "event": "x", "timestamp": "9999-12-31T00:00:00Z"}, "timestamp"},
		{"identify from the future", map[string]any{"userId": "victim", "traits": map[string]any{"plan": "x"}, "timestamp": "2030-01-01T00:00:00Z"}, "timestamp"},
		{"before 2000", map[string]any{"userId": "victim", "event": "x", "originalTimestamp": "1999-01-01T00:00:00Z"}, "originalTimestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/track"
			if _, ok := tc.msg["traits"]; ok {
				path = "/v1/identify"
			}
			code, body := e.ingest(path, tc.msg)
			require.Equal(t, 400, code, string(body))
			_, field := errCode(t, body)
			require.Equal(t, tc.field, field)
		})
	}
	require.Zero(t, e.counts().Events)
	require.Zero(t, e.counts().Profiles)
	code, body := e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "x", "timestamp": t0.Add(23 * time.Hour).Format(time.RFC3339)})
	require.Equal(t, 200, code, string(body))
	require.Equal(t, 1, e.counts().Events)
}
