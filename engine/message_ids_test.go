package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestAStoredMessageIDStaysStoredAfterItsEventIsGone: whether an event
// was stored before is one decision, asked of event_ids by every path. An
// event purged by retention or erased with its person is not stored again
// when it comes back, by a file import (JSON Lines or CSV) or by HTTP
// ingestion, and its identifiers are not resolved either: a replay must
// not undo retention or erasure, nor make an erased person known again.
// An event never stored (its message id new) still is.
func TestAStoredMessageIDStaysStoredAfterItsEventIsGone(t *testing.T) {
	t.Parallel()
	// Each event is older than the retention below; u2 is the person erased.
	const old = "2026-01-01T00:00:00Z"
	jsonl := func(ids ...string) string {
		var out string
		for i, id := range ids {
			out += fmt.Sprintf(`{"user_id":"u%d","event":"page_viewed","timestamp":%q,"message_id":%q}`+"\n", i%2+1, old, id)
		}
		return out
	}
	csv := func(ids ...string) string {
		out := "user_id,event,timestamp,message_id\n"
		for i, id := range ids {
			out += fmt.Sprintf("u%d,page_viewed,%s,%s\n", i%2+1, old, id)
		}
		return out
	}
	gone := map[string]func(t *testing.T, s *engine.Store){
		"retention": func(t *testing.T, s *engine.Store) {
			res, err := s.Purge(context.Background(), engine.RetentionPolicy{
				Events: map[string]engine.Duration{"*": engine.Duration(90 * 24 * time.Hour)}}, engine.PurgeOptions{})
			require.NoError(t, err)
			require.Equal(t, int64(2), res.EventsDeleted["*"])
		},
		"erasure": func(t *testing.T, s *engine.Store) {
			_, err := s.Erase(context.Background(), "u1", engine.EraseOptions{NoCompact: true})
			require.NoError(t, err)
			_, err = s.Erase(context.Background(), "u2", engine.EraseOptions{NoCompact: true})
			require.NoError(t, err)
		},
	}
	replay := map[string]func(t *testing.T, s *engine.Store, ids ...string) (added, duplicate int){
		"jsonl import": func(t *testing.T, s *engine.Store, ids ...string) (int, int) {
			res := mustImport(t, s, engine.ImportEvents, writeFile(t, "again.jsonl", jsonl(ids...)))
			return res.EventsAdded, res.EventsDuplicate
		},
		"csv import": func(t *testing.T, s *engine.Store, ids ...string) (int, int) {
			res := mustImport(t, s, engine.ImportEvents, writeFile(t, "again.csv", csv(ids...)))
			return res.EventsAdded, res.EventsDuplicate
		},
		"http ingest": func(t *testing.T, s *engine.Store, ids ...string) (int, int) {
			var rows []ev
			for i, id := range ids {
				rows = append(rows, ev{fmt.Sprintf("u%d", i%2+1), "", "page_viewed", id})
			}
			res, err := s.Ingest(context.Background(), batch("again", rows...))
			require.NoError(t, err)
			return res.EventsAdded, res.EventsDuplicate
		},
	}
	for how, remove := range gone {
		for path, again := range replay {
			t.Run(how+"/"+path, func(t *testing.T) {
				t.Parallel()
				s, _, _ := openStore(t)
				mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\nu2\n"))
				first := mustImport(t, s, engine.ImportEvents, writeFile(t, "e.jsonl", jsonl("m1", "m2")))
				require.Equal(t, 2, first.EventsAdded)
				remove(t, s)
				before := counts(t, s)
				require.Zero(t, before.Events)

				added, duplicate := again(t, s, "m1", "m2")
				require.Zero(t, added)
				require.Equal(t, 2, duplicate, "the two gone are recognised")
				require.Equal(t, before, counts(t, s), "a replay changes nothing, not even who is known")

				added, duplicate = again(t, s, "m1", "m2", "m3")
				require.Equal(t, 1, added, "only the message id never stored is stored")
				require.Equal(t, 2, duplicate)
				after := counts(t, s)
				require.Equal(t, 1, after.Events)
				if how == "erasure" {
					// m3 is u1's new event: u1 is known again, u2 is not.
					require.Equal(t, before.Profiles+1, after.Profiles)
					require.Equal(t, before.Identities+1, after.Identities)
				} else {
					require.Equal(t, before.Profiles, after.Profiles)
				}
			})
		}
	}
}

// TestAStoredMessageIDKeepsAProfileRowFromComingBack: identify and alias
// rows are de-duplicated by message id as events are, in the same table.
// An SDK's retry changes nothing; a replay after the person's erasure does
// not make them known again, nor add a trait; within a batch the first row
// of a message id is the one written; a row sent without a message id is
// always written, and a new message id makes the person known again.
func TestAStoredMessageIDKeepsAProfileRowFromComingBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	identify := func(id string, rows ...map[string]any) engine.IngestResult {
		t.Helper()
		ids := make([]string, len(rows))
		for i := range ids {
			ids[i] = id
		}
		res, err := s.Ingest(ctx, engine.IngestBatch{Label: "identify", Profiles: rows, ProfileMessageIDs: ids})
		require.NoError(t, err)
		return res
	}
	at := refNow
	nine := func(name string) map[string]any {
		at = at.Add(time.Second) // each row newer than the last
		return map[string]any{"user_id": "u9", "email": "nine@example.com", "first_name": name, "updated_at": at}
	}

	res := identify("i1", nine("Nine"))
	require.Equal(t, 1, res.Profiles.ProfilesCreated)
	known := counts(t, s)

	res = identify("i1", map[string]any{"user_id": "u9", "plan": "gold", "updated_at": refNow})
	require.Equal(t, 1, res.ProfilesDuplicate, "a retry is recognised")
	require.Equal(t, known, counts(t, s), "a retry changes nothing, not even the traits")

	_, err := s.Erase(ctx, "u9", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	erased := counts(t, s)
	require.Zero(t, erased.Profiles)

	res = identify("i1", nine("Nine"))
	require.Equal(t, 1, res.ProfilesDuplicate)
	require.Zero(t, res.Profiles.ProfilesCreated)
	require.Equal(t, erased, counts(t, s), "a replay after erasure makes nobody known")
	_, err = s.ResolveUser(ctx, "nine@example.com")
	require.ErrorAs(t, err, new(*engine.NotFoundError))

	res = identify("i2", nine("Again"), nine("Twice"))
	require.Equal(t, 1, res.Profiles.ProfilesCreated, "a new message id is new activity")
	require.Equal(t, 1, res.ProfilesDuplicate, "the second row of i2 is left out")
	p, err := s.Profile(ctx, resolve(t, s, "u9"))
	require.NoError(t, err)
	require.Equal(t, "Again", p.Traits["first_name"], "the first row of a message id is the one written")

	res, err = s.Ingest(ctx, engine.IngestBatch{Label: "no-ids", Profiles: []map[string]any{nine("Plain")}})
	require.NoError(t, err)
	require.Zero(t, res.ProfilesDuplicate)
	p, err = s.Profile(ctx, resolve(t, s, "u9"))
	require.NoError(t, err)
	require.Equal(t, "Plain", p.Traits["first_name"], "a row without a message id is written")

	_, err = s.Ingest(ctx, engine.IngestBatch{Label: "bad", Profiles: []map[string]any{nine("X")}, ProfileMessageIDs: []string{"a", "b"}})
	require.Error(t, err, "message ids must match the rows")

	// A refused row is named by its place in the batch, the rows left out
	// counted; the refused write registers no message id.
	ten := map[string]any{"user_id": "u10", "email": "not an address", "updated_at": refNow}
	_, err = s.Ingest(ctx, engine.IngestBatch{Label: "refused", Profiles: []map[string]any{nine("Dup"), ten}, ProfileMessageIDs: []string{"i1", "i5"}})
	var ie *engine.ImportError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, 2, ie.Line)
	require.Equal(t, "email", ie.Field)
	ten["email"] = "ten@example.com"
	res = identify("i5", ten)
	require.Equal(t, 1, res.Profiles.ProfilesCreated, "i5 was not taken by the refused write")
}
