package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestAnonymousEventsJoinTheKnownProfile(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email,plan\nu1,ann@example.com,pro\n"))
	ev := mustImport(t, s, engine.ImportEvents, writeFile(t, "web.jsonl",
		`{"anonymous_id":"a-1","event":"page_viewed","timestamp":"2026-10-01T10:00:00Z","properties":{"path":"/"},"message_id":"m1"}
{"anonymous_id":"a-1","event":"added_to_cart","timestamp":"2026-10-01T10:05:00Z","properties":{"sku":"X"},"message_id":"m2"}
`))
	require.Equal(t, 1, ev.ProfilesCreated, "an unknown anonymous id gets its own profile")
	anon := resolve(t, s, "a-1")
	known := resolve(t, s, "u1")
	require.NotEqual(t, known, anon)

	res := mustImport(t, s, engine.ImportProfiles, writeFile(t, "identify.jsonl", `{"anonymous_id":"a-1","user_id":"u1"}`+"\n"))
	require.Equal(t, 1, res.ProfilesMerged)
	require.Equal(t, known, resolve(t, s, "a-1"), "the identify links the anonymous id to the known profile")
	events, err := s.Events(ctx, known, 0)
	require.NoError(t, err)
	require.Len(t, events, 2, "the anonymous events follow the merge")
	_, err = s.Profile(ctx, anon)
	require.ErrorIs(t, err, engine.ErrNotFound, "the merged-away profile is gone")
	merges, err := s.Merges(ctx, known)
	require.NoError(t, err)
	require.Len(t, merges, 1)
	require.Equal(t, "merge", merges[0].Action)
	require.Equal(t, anon, merges[0].OtherID)
	require.Equal(t, engine.KindAnonymousID, merges[0].IdentifierKind)
	require.Contains(t, merges[0].Source, "identify.jsonl:1")
	require.NotContains(t, merges[0].IdentifierHash, "a-1", "the log keeps a keyed hash, not the identifier")
}

func TestTwoUserIDsSharingAnEmailStayApart(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	res := mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email\nu3,family@example.com\nu4,family@example.com\n"))
	require.Equal(t, 2, res.ProfilesCreated)
	require.Equal(t, 1, res.LinksRefused)
	u3, u4 := resolve(t, s, "u3"), resolve(t, s, "u4")
	require.NotEqual(t, u3, u4)
	require.Equal(t, u3, resolve(t, s, "family@example.com"), "the address stays with the profile that had it first")
	p4, err := s.Profile(ctx, u4)
	require.NoError(t, err)
	require.Empty(t, p4.Email, "u4 is not given an address that belongs to someone else")
	log, err := s.Merges(ctx, 0)
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, engine.MergeRecord{At: refNow, Action: "conflict", ProfileID: u3, OtherID: u4, IdentifierKind: engine.KindEmail,
		IdentifierHash: s.HashIdentifier(engine.KindEmail, "family@example.com"), Source: log[0].Source, Reason: "would give one profile two user_ids"}, log[0])

	// A later file that tries to link them through a phone is refused too.
	res = mustImport(t, s, engine.ImportProfiles, writeFile(t, "more.csv", "email,phone\nfamily@example.com,+66811111111\n"))
	require.Zero(t, res.LinksRefused)
	res = mustImport(t, s, engine.ImportProfiles, writeFile(t, "link.csv", "user_id,phone\nu4,+66811111111\n"))
	require.Equal(t, 1, res.LinksRefused)
	require.NotEqual(t, resolve(t, s, "u3"), resolve(t, s, "u4"))
}

func TestEmailVariantsMergeIntoOneProfile(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email\nu1,Ann.Lee@Example.com\n"))
	mustImport(t, s, engine.ImportEvents, writeFile(t, "opens.csv", "email,event,timestamp\n  ANN.LEE@example.COM ,email_opened,2026-10-01T00:00:00Z\nann.lee@example.com,email_clicked,2026-10-01T00:01:00Z\n"))
	c := counts(t, s)
	require.Equal(t, 1, c.Profiles)
	require.Equal(t, 2, c.Identities)
	require.Equal(t, 2, c.Events)
	require.Equal(t, resolve(t, s, "u1"), resolve(t, s, " ann.lee@EXAMPLE.com"))
}

func TestResolveUserUnknownIsNotFound(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	_, err := s.ResolveUser(context.Background(), "nobody@example.com")
	require.ErrorIs(t, err, engine.ErrNotFound)
}
