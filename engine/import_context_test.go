package engine_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestImportEventContext: an events file may carry a context per event
// (a JSON object; in CSV a JSON text), stored in events.context apart from
// the properties, in every file format; without one the column is NULL.
func TestImportEventContext(t *testing.T) {
	t.Parallel()
	const ctxJSON = `{"ip":"203.0.113.9","device":{"id":"dev-42"}}`
	cases := []struct {
		name  string
		write func(t *testing.T, s *engine.Store) string
	}{
		{"jsonl", func(t *testing.T, _ *engine.Store) string {
			return writeFile(t, "e.jsonl",
				`{"user_id":"u1","event":"viewed","timestamp":"2026-10-01T00:00:00Z","message_id":"m1","properties":{"sku":"A-1"},"context":`+ctxJSON+"}\n"+
					`{"user_id":"u1","event":"viewed","timestamp":"2026-10-02T00:00:00Z","message_id":"m2","properties":{"sku":"A-1"}}`+"\n")
		}},
		{"csv", func(t *testing.T, _ *engine.Store) string {
			return writeFile(t, "e.csv", "user_id,event,timestamp,message_id,properties,context\n"+
				`u1,viewed,2026-10-01T00:00:00Z,m1,"{""sku"":""A-1""}","{""ip"":""203.0.113.9"",""device"":{""id"":""dev-42""}}"`+"\n"+
				`u1,viewed,2026-10-02T00:00:00Z,m2,"{""sku"":""A-1""}",`+"\n")
		}},
		{"parquet", func(t *testing.T, s *engine.Store) string {
			path := filepath.Join(t.TempDir(), "e.parquet")
			_, err := s.DB().Exec(fmt.Sprintf(`COPY (
  SELECT 'u1' AS user_id, 'viewed' AS event, TIMESTAMP '2026-10-01 00:00:00' AS timestamp, 'm1' AS message_id, '{"sku":"A-1"}' AS properties, '%s' AS context
  UNION ALL
  SELECT 'u1', 'viewed', TIMESTAMP '2026-10-02 00:00:00', 'm2', '{"sku":"A-1"}', NULL
) TO '%s' (FORMAT parquet)`, ctxJSON, path))
			require.NoError(t, err)
			return path
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := openStore(t)
			res := mustImport(t, s, engine.ImportEvents, tc.write(t, s))
			require.Equal(t, 2, res.EventsAdded)
			want := map[string]sql.NullString{"m1": {String: ctxJSON, Valid: true}, "m2": {}}
			for msg, wantCtx := range want {
				var props, evCtx sql.NullString
				require.NoError(t, s.DB().QueryRow(`SELECT properties::VARCHAR, context::VARCHAR FROM events WHERE message_id = ?`, msg).Scan(&props, &evCtx))
				require.JSONEq(t, `{"sku":"A-1"}`, props.String, "the properties stay as sent")
				require.Equal(t, wantCtx.Valid, evCtx.Valid, msg)
				if wantCtx.Valid {
					require.JSONEq(t, wantCtx.String, evCtx.String, msg)
				}
			}
			evs, err := s.Events(t.Context(), resolve(t, s, "u1"), 0)
			require.NoError(t, err)
			require.Len(t, evs, 2)
			require.Empty(t, evs[0].Context, "newest first: m2 has no context")
			require.JSONEq(t, ctxJSON, string(evs[1].Context))
		})
	}
}
