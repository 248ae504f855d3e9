package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestEventTimesAreBounded (item 8): an event timestamp or profile
// updated_at more than 24 h ahead of now, or before 2000, rejects the file
// with file:line naming the field; times within the skew are accepted.
func TestEventTimesAreBounded(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t) // now: 2026-11-01
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\n"))
	cases := []struct {
		name  string
		kind  engine.ImportKind
		body  string
		field string
	}{
		{"far future event", engine.ImportEvents, "user_id,event,timestamp\nu1,a,2026-10-01T00:00:00Z\nu1,b,9999-12-31T00:00:00Z\n", "timestamp"},
		{"event just beyond the skew", engine.ImportEvents, "user_id,event,timestamp\nu1,a,2026-10-01T00:00:00Z\nu1,b,2026-11-02T00:00:01Z\n", "timestamp"},
		{"event before 2000", engine.ImportEvents, "user_id,event,timestamp\nu1,a,2026-10-01T00:00:00Z\nu1,b,1999-12-31T23:59:59Z\n", "timestamp"},
		{"future updated_at", engine.ImportProfiles, "user_id,plan,updated_at\nu1,a,2026-10-01T00:00:00Z\nu1,pro,9999-12-31T00:00:00Z\n", "updated_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counts(t, s)
			_, err := s.Import(context.Background(), tc.kind, writeFile(t, "in.csv", tc.body))
			var ie *engine.ImportError
			require.True(t, errors.As(err, &ie), "%v", err)
			require.Equal(t, 3, ie.Line)
			require.Equal(t, tc.field, ie.Field)
			require.Equal(t, before, counts(t, s))
		})
	}
	res := mustImport(t, s, engine.ImportEvents, writeFile(t, "ok.csv", "user_id,event,timestamp\nu1,a,2026-11-01T23:00:00Z\nu1,b,2000-01-01\n"))
	require.Equal(t, 2, res.EventsAdded)
}

// TestExportNeverCompletesEmpty (item 8): a stored value JSON cannot encode
// makes the export an error and leaves the access request open, instead of
// an empty answer behind a completed request.
func TestExportNeverCompletesEmpty(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\n"))
	id := resolve(t, s, "u1")
	_, err := s.DB().ExecContext(ctx, `INSERT INTO events (profile_id, event, ts, properties, message_id, received_at, source) VALUES (?, 'x', TIMESTAMP '12000-01-01 00:00:00', NULL, 'm1', TIMESTAMP '2026-01-01 00:00:00', 'test')`, id)
	require.NoError(t, err)
	_, err = s.ExportPersonalData(ctx, "u1", engine.PrivacyOptions{})
	var ee *engine.ExportEncodingError
	require.True(t, errors.As(err, &ee), "%v", err)
	reqs, err := s.Requests(ctx, engine.RequestFilter{All: true, ProfileID: id})
	require.NoError(t, err)
	for _, r := range reqs {
		require.NotEqual(t, "completed", string(r.Status))
	}
}
