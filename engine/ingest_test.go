package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// ev is one event row for a columnar batch.
type ev struct{ user, anon, name, msgID string }

func batch(label string, rows ...ev) engine.IngestBatch {
	var c engine.IngestEvents
	for i, r := range rows {
		c.UserID = append(c.UserID, r.user)
		c.AnonymousID = append(c.AnonymousID, r.anon)
		c.Event = append(c.Event, r.name)
		c.TS = append(c.TS, refNow.Add(time.Duration(i)*time.Second))
		c.Properties = append(c.Properties, `{"n":1}`)
		c.Context = append(c.Context, "")
		c.MessageID = append(c.MessageID, r.msgID)
	}
	return engine.IngestBatch{Label: label, Events: c}
}

func eventNames(t *testing.T, s *engine.Store, who string) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), resolve(t, s, who), 0)
	require.NoError(t, err)
	var names []string
	for _, e := range evs {
		names = append(names, e.Event)
	}
	return names
}

// TestIngestIdempotentOnMessageID: a message id is stored once, within a
// batch and across batches.
func TestIngestIdempotentOnMessageID(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\n"))
	res, err := s.Ingest(ctx, batch("b1", ev{"u1", "", "a", "m1"}, ev{"u1", "", "a", "m1"}, ev{"u1", "", "b", "m2"}))
	require.NoError(t, err)
	require.Equal(t, 2, res.EventsAdded)
	require.Equal(t, 1, res.EventsDuplicate)
	res, err = s.Ingest(ctx, batch("b2", ev{"u1", "", "b", "m2"}, ev{"u1", "", "c", "m3"}))
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsAdded)
	require.Equal(t, 1, res.EventsDuplicate)
	require.Equal(t, 3, counts(t, s).Events)
	require.False(t, res.EventsResolved, "known people need no resolution")
}

// TestIngestIdentifyThenTrack: an identify links an anonymous id to a
// user id; a later track by the anonymous id alone lands on that profile,
// and a track by someone new creates their profile.
func TestIngestIdentifyThenTrack(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	b := batch("b1", ev{"", "anon-1", "page", "m1"})
	res, err := s.Ingest(ctx, b)
	require.NoError(t, err)
	require.True(t, res.EventsResolved)
	b = batch("b2", ev{"", "anon-1", "cart", "m2"})
	b.Profiles = []map[string]any{{"user_id": "u1", "anonymous_id": "anon-1", "plan": "pro", "updated_at": refNow}}
	_, err = s.Ingest(ctx, b)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"cart", "page"}, eventNames(t, s, "u1"))
	c := counts(t, s)
	require.Equal(t, 1, c.Profiles)
	require.Equal(t, 2, c.Events)

	// An event naming both ids of one person needs no resolution.
	res, err = s.Ingest(ctx, batch("b3", ev{"u1", "anon-1", "buy", "m3"}))
	require.NoError(t, err)
	require.False(t, res.EventsResolved)
	require.ElementsMatch(t, []string{"buy", "cart", "page"}, eventNames(t, s, "u1"))
}

// TestIngestTrust: a client key's batch may not add an email to a profile
// that has one; nothing of the batch is written.
func TestIngestTrust(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id,email\nu1,a@example.com\n"))
	b := batch("b1", ev{"u1", "", "page", "m1"})
	b.Untrusted = true
	b.Profiles = []map[string]any{{"user_id": "u1", "email": "b@example.com"}}
	before := counts(t, s)
	_, err := s.Ingest(ctx, b)
	var te *engine.TrustError
	require.True(t, errors.As(err, &te), "want a TrustError, got %v", err)
	require.Equal(t, engine.KindEmail, te.Kind)
	require.Equal(t, before, counts(t, s))

	// A client key's event may link a new anonymous id to a known person.
	b = batch("b2", ev{"u1", "anon-9", "page", "m2"})
	b.Untrusted = true
	res, err := s.Ingest(ctx, b)
	require.NoError(t, err)
	require.True(t, res.EventsResolved)
	require.Equal(t, []string{"page"}, eventNames(t, s, "anon-9"))
}

// TestIngestDropsUntracked: the events of people who withdrew analytics
// are not stored and are counted; consent facts still are.
func TestIngestDropsUntracked(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\nu2\n"))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv", "user_id,purpose,channel,status,timestamp\nu1,analytics,*,withdrawn,2026-10-01T00:00:00Z\n"))
	res, err := s.Ingest(ctx, batch("b1", ev{"u1", "", "page", "m1"}, ev{"u1", "", "email_unsubscribed", "m2"}, ev{"u2", "", "page", "m3"}))
	require.NoError(t, err)
	require.Equal(t, map[string]int{engine.DropAnalyticsWithdrawn: 1}, res.EventsDropped)
	require.Equal(t, 2, res.EventsAdded)
	require.Zero(t, res.EventsDuplicate)
	require.Equal(t, []string{"email_unsubscribed"}, eventNames(t, s, "u1"))
	require.Equal(t, []string{"page"}, eventNames(t, s, "u2"))
}

// TestIngestDurable: what Ingest returned for is there after reopening.
func TestIngestDurable(t *testing.T) {
	t.Parallel()
	s, clk, path := openStore(t)
	ctx := context.Background()
	_, err := s.Ingest(ctx, batch("b1", ev{"u1", "", "page", "m1"}, ev{"u2", "", "page", "m2"}))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s2, err := engine.Open(ctx, path, engine.Options{Config: testConfig(), Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { s2.Close() })
	require.Equal(t, 2, counts(t, s2).Events)
	res, err := s2.Ingest(ctx, batch("b2", ev{"u1", "", "page", "m1"}))
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsDuplicate, "message ids survive a restart")
}

// TestIngestBadInput: bad columns are refused with the row, nothing written.
func TestIngestBadInput(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	for name, b := range map[string]engine.IngestBatch{
		"no identity":   batch("b", ev{"u1", "", "a", "m1"}, ev{"", "", "a", "m2"}),
		"no message id": batch("b", ev{"u1", "", "a", ""}),
		"blank user id": batch("b", ev{" ", "", "a", "m1"}),
	} {
		_, err := s.Ingest(ctx, b)
		var ie *engine.ImportError
		require.True(t, errors.As(err, &ie), "%s: %v", name, err)
	}
	short := batch("b", ev{"u1", "", "a", "m1"})
	short.Events.MessageID = nil
	_, err := s.Ingest(ctx, short)
	require.Error(t, err)
	require.Zero(t, counts(t, s).Events)
}

// TestIngestRecognisesImportedMessageIDs: an event stored by a file import
// is not stored again when the same message arrives over HTTP.
func TestIngestRecognisesImportedMessageIDs(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\n"))
	mustImport(t, s, engine.ImportEvents, writeFile(t, "e.jsonl",
		`{"user_id":"u1","event":"a","timestamp":"2026-10-01T00:00:00Z","message_id":"m-file"}`+"\n"))
	res, err := s.Ingest(ctx, batch("b1", ev{"u1", "", "a", "m-file"}, ev{"u1", "", "b", "m-http"}))
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsAdded)
	require.Equal(t, 1, res.EventsDuplicate, "the imported message id is recognised")
	require.Equal(t, 2, counts(t, s).Events)
}

// TestIngestMixedKnownIdentifiers: a batch that mixes known user ids and
// known anonymous ids (the traffic of a website: visitors and signed-in
// users), one event carrying both of one person's, lands every event on
// its person without resolution: each kind's owners are looked up.
func TestIngestMixedKnownIdentifiers(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id,anonymous_id\nu1,anon-1\nu2,anon-2\nu3,\n"))
	before := counts(t, s)
	res, err := s.Ingest(ctx, batch("b1",
		ev{"u1", "", "a", "m1"}, ev{"", "anon-2", "b", "m2"}, ev{"u3", "", "c", "m3"},
		ev{"", "anon-1", "d", "m4"}, ev{"u2", "anon-2", "e", "m5"}))
	require.NoError(t, err)
	require.Equal(t, 5, res.EventsAdded)
	require.False(t, res.EventsResolved, "every identifier is held already")
	require.Equal(t, before.Profiles, counts(t, s).Profiles)
	require.ElementsMatch(t, []string{"a", "d"}, eventNames(t, s, "u1"))
	require.ElementsMatch(t, []string{"b", "e"}, eventNames(t, s, "u2"))
	require.Equal(t, []string{"c"}, eventNames(t, s, "u3"))
}
