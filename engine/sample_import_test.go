package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/sample"
)

// TestCommittedSampleImports imports testdata/sample (the generator's
// default output, kept byte-identical by the sample package's golden test)
// and checks every figure and edge case the generator promises.
func TestCommittedSampleImports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	manifest, err := sample.Write(t.TempDir(), sample.Options{})
	require.NoError(t, err)
	cases := manifest.Cases
	dir := filepath.Join("..", "testdata", "sample")

	s, _, _ := openStore(t)
	importAll := func() {
		for _, f := range manifest.Files {
			mustImport(t, s, engine.ImportKind(f.Kind), filepath.Join(dir, f.Name))
		}
	}
	importAll()
	c := counts(t, s)
	require.Equal(t, cases.Counts.Profiles, c.Profiles)
	require.Equal(t, cases.Counts.Events, c.Events)
	require.Equal(t, cases.Counts.SharedEmails, c.RefusedLinks)

	for _, se := range cases.SharedEmails {
		a, b := resolve(t, s, se.UserIDs[0]), resolve(t, s, se.UserIDs[1])
		require.NotEqual(t, a, b, "%s: two user_ids sharing an email stay apart", se.Email)
		require.Equal(t, a, resolve(t, s, se.Email))
	}
	for _, v := range cases.EmailVariants {
		require.Equal(t, resolve(t, s, v.UserID), resolve(t, s, v.Variant), "%q is %s", v.Variant, v.UserID)
	}
	for _, tie := range cases.ConsentTies {
		d, err := s.EvaluateConsent(ctx, resolve(t, s, tie.UserID), tie.Purpose, tie.Channel, refNow)
		require.NoError(t, err)
		require.False(t, d.Granted, "%s: a same-instant grant and withdrawal is a withdrawal", tie.UserID)
	}
	for _, id := range cases.DuplicateMessageIDs {
		var n int
		require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM events WHERE message_id = ?`, id).Scan(&n))
		require.Equal(t, 1, n, id)
	}
	for _, p := range cases.WalkInPhones {
		resolve(t, s, p)
	}
	q, args, err := s.ConsentGrantSQL(ctx, "marketing", "email", refNow)
	require.NoError(t, err)
	var granted int
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM ("+q+") WHERE granted", args...).Scan(&granted))
	require.Equal(t, cases.Counts.MarketingEmailGranted, granted)

	importAll()
	require.Equal(t, c, counts(t, s), "a second import of the same files changes no count")

	// With the 2026-06 marketing notice requiring re-consent, only grants
	// under it count.
	cfg := testConfig()
	cfg.Purposes[0].Versions[1].RequiresReconsent = true
	s2, err := engine.Open(ctx, engine.MemoryPath, engine.Options{Config: cfg})
	require.NoError(t, err)
	defer s2.Close()
	for _, f := range manifest.Files {
		_, err := s2.Import(ctx, engine.ImportKind(f.Kind), filepath.Join(dir, f.Name))
		require.NoError(t, err)
	}
	require.Equal(t, c, counts(t, s2), "the same files give the same counts every time")
	q, args, err = s2.ConsentGrantSQL(ctx, "marketing", "email", refNow)
	require.NoError(t, err)
	require.NoError(t, s2.DB().QueryRow("SELECT count(*) FROM ("+q+") WHERE granted", args...).Scan(&granted))
	require.Equal(t, cases.Counts.MarketingEmailGranted2026, granted)
}
