package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestIngestResolvesAsTheImportDoes: an ingestion group hands resolution
// only its rows whose identifiers are not all held by one profile; the
// others' profiles are not read. Who ends up holding what, which events
// land on whom, and the merge log are what the events import gives the
// same rows, which resolves every row.
func TestIngestResolvesAsTheImportDoes(t *testing.T) {
	t.Parallel()
	const profiles = "user_id,anonymous_id\nu1,a-1\nu2,a-2\nu3,\nu4,\n,a-solo\n,a-solo2\n"
	rows := []ev{
		{"u1", "", "known", "m01"},
		{"", "a-2", "known anonymous id", "m02"},
		{"", "new-1", "a new visitor", "m03"},
		{"u3", "new-2", "a new anonymous id of a known user", "m04"},
		{"u1", "a-2", "two user ids: the link is refused", "m05"},
		{"u4", "a-solo", "an anonymous profile merges into a user's", "m06"},
		{"u9", "new-3", "a new user", "m07"},
		{"", "new-1", "the new visitor again", "m08"},
		{"u5", "new-1", "the new visitor signs up", "m09"},
		{"u2", "", "known", "m10"},
		{"", "a-solo2", "known anonymous id", "m11"},
		{"u4", "", "known, merged above", "m12"},
	}
	var jsonl strings.Builder
	for i, r := range rows {
		fmt.Fprintf(&jsonl, `{"user_id":%q,"anonymous_id":%q,"event":%q,"timestamp":"2026-10-01T00:00:%02dZ","message_id":%q}`+"\n",
			r.user, r.anon, r.name, i, r.msgID)
	}
	jsonlText := strings.ReplaceAll(strings.ReplaceAll(jsonl.String(), `"user_id":"",`, ""), `"anonymous_id":"",`, "")

	state := func(s *engine.Store) map[string][]string {
		out := map[string][]string{}
		for name, q := range map[string]string{
			"holders": `SELECT string_agg(kind || ':' || value, ' ' ORDER BY kind, value) FROM identities GROUP BY profile_id ORDER BY 1`,
			"events": `SELECT e.message_id || ' -> ' || (SELECT string_agg(kind || ':' || value, ' ' ORDER BY kind, value)
			           FROM identities i WHERE i.profile_id = e.profile_id) FROM events e ORDER BY 1`,
			"merges":   `SELECT action || ' ' || identifier_kind || ' ' || count(*) FROM merges GROUP BY action, identifier_kind ORDER BY 1`,
			"profiles": `SELECT coalesce(user_id, '-') FROM profiles ORDER BY 1`,
		} {
			r, err := s.DB().Query(q)
			require.NoError(t, err)
			for r.Next() {
				var v string
				require.NoError(t, r.Scan(&v))
				out[name] = append(out[name], v)
			}
			require.NoError(t, r.Err())
			require.NoError(t, r.Close())
		}
		return out
	}

	ingested, _, _ := openStore(t)
	imported, _, _ := openStore(t)
	for _, s := range []*engine.Store{ingested, imported} {
		mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", profiles))
	}
	res, err := ingested.Ingest(context.Background(), batch("b", rows...))
	require.NoError(t, err)
	require.True(t, res.EventsResolved)
	require.Equal(t, len(rows), res.EventsAdded)
	mustImport(t, imported, engine.ImportEvents, writeFile(t, "e.jsonl", jsonlText))

	want, got := state(imported), state(ingested)
	require.Equal(t, want, got)
	require.Contains(t, got["merges"], "conflict anonymous_id 1", "the case of a refused link is in the batch")
	require.Contains(t, got["holders"], "anonymous_id:a-solo user_id:u4", "the case of a merge is in the batch")
}
