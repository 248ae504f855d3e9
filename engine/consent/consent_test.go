package consent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine/consent"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	pol, err := consent.NewPolicy([]consent.Purpose{
		{Name: "marketing", Versions: []consent.NoticeVersion{{Version: "2025-01"}, {Version: "2026-06"}}},
		{Name: "personalisation", Versions: []consent.NoticeVersion{{Version: "v1"}, {Version: "v2", RequiresReconsent: true}}},
		{Name: "research"},
	})
	require.NoError(t, err)
	at := ts("2026-11-01T00:00:00Z")
	e := func(purpose, channel string, st consent.Status, eff string) consent.Entry {
		return consent.Entry{Purpose: purpose, Channel: channel, Status: st, EffectiveAt: ts(eff)}
	}
	withSeq := func(x consent.Entry, seq int64) consent.Entry { x.Seq = seq; return x }
	withExp := func(x consent.Entry, exp string) consent.Entry { x.ExpiresAt = ts(exp); return x }
	withVer := func(x consent.Entry, v string) consent.Entry { x.NoticeVersion = v; return x }
	rec := func(x consent.Entry, r string) consent.Entry { x.RecordedAt = ts(r); return x }

	cases := []struct {
		name             string
		entries          []consent.Entry
		purpose, channel string
		want             consent.Reason
	}{
		{"no entry denies", nil, "marketing", "email", consent.ReasonNoEntry},
		{"exact grant", []consent.Entry{e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"grant on other channel does not count", []consent.Entry{e("marketing", "sms", consent.Granted, "2026-01-01T00:00:00Z")}, "marketing", "email", consent.ReasonNoEntry},
		{"grant for other purpose does not count", []consent.Entry{e("analytics", "email", consent.Granted, "2026-01-01T00:00:00Z")}, "marketing", "email", consent.ReasonNoEntry},
		{"channel wildcard grant", []consent.Entry{e("marketing", "*", consent.Granted, "2026-01-01T00:00:00Z")}, "marketing", "push", consent.ReasonGranted},
		{"purpose wildcard grant", []consent.Entry{e("*", "email", consent.Granted, "2026-01-01T00:00:00Z")}, "research", "email", consent.ReasonGranted},
		{"later wildcard withdrawal beats specific grant", []consent.Entry{
			e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"),
			e("*", "*", consent.Withdrawn, "2026-02-01T00:00:00Z")}, "marketing", "email", consent.ReasonWithdrawn},
		{"later specific grant beats earlier wildcard withdrawal", []consent.Entry{
			e("*", "*", consent.Withdrawn, "2026-01-01T00:00:00Z"),
			e("marketing", "email", consent.Granted, "2026-02-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"denied", []consent.Entry{e("marketing", "email", consent.Denied, "2026-01-01T00:00:00Z")}, "marketing", "email", consent.ReasonDenied},
		{"tie goes to withdrawal whatever the order", []consent.Entry{
			withSeq(e("marketing", "email", consent.Withdrawn, "2026-01-01T00:00:00Z"), 1),
			withSeq(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), 2)}, "marketing", "email", consent.ReasonWithdrawn},
		{"tie across wildcard goes to denial", []consent.Entry{
			withSeq(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), 2),
			withSeq(e("*", "email", consent.Denied, "2026-01-01T00:00:00Z"), 1)}, "marketing", "email", consent.ReasonDenied},
		{"future entry is not yet effective", []consent.Entry{
			e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"),
			e("marketing", "email", consent.Withdrawn, "2026-12-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"expired grant", []consent.Entry{withExp(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2026-10-01T00:00:00Z")}, "marketing", "email", consent.ReasonExpired},
		{"expiry at the instant counts as expired", []consent.Entry{withExp(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2026-11-01T00:00:00Z")}, "marketing", "email", consent.ReasonExpired},
		{"expired latest grant does not fall back to an older one", []consent.Entry{
			e("marketing", "email", consent.Granted, "2025-01-01T00:00:00Z"),
			withExp(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2026-10-01T00:00:00Z")}, "marketing", "email", consent.ReasonExpired},
		{"not yet expired", []consent.Entry{withExp(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2027-01-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"old version without reconsent still counts", []consent.Entry{withVer(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2025-01")}, "marketing", "email", consent.ReasonGranted},
		{"version superseded by reconsent", []consent.Entry{withVer(e("personalisation", "email", consent.Granted, "2026-01-01T00:00:00Z"), "v1")}, "personalisation", "email", consent.ReasonReconsentRequired},
		{"no version when reconsent needed", []consent.Entry{e("personalisation", "email", consent.Granted, "2026-01-01T00:00:00Z")}, "personalisation", "email", consent.ReasonReconsentRequired},
		{"current version counts", []consent.Entry{withVer(e("personalisation", "email", consent.Granted, "2026-01-01T00:00:00Z"), "v2")}, "personalisation", "email", consent.ReasonGranted},
		{"a later-recorded withdrawal beats an earlier-recorded future-dated grant", []consent.Entry{
			rec(e("marketing", "email", consent.Granted, "2026-10-01T00:00:00Z"), "2026-06-01T00:00:00Z"),
			rec(e("marketing", "email", consent.Withdrawn, "2026-07-01T00:00:00Z"), "2026-07-01T00:00:00Z")}, "marketing", "email", consent.ReasonWithdrawn},
		{"a wildcard withdrawal supersedes an earlier-recorded specific grant", []consent.Entry{
			rec(e("marketing", "email", consent.Granted, "2026-10-01T00:00:00Z"), "2026-06-01T00:00:00Z"),
			rec(e("*", "*", consent.Withdrawn, "2026-07-01T00:00:00Z"), "2026-07-01T00:00:00Z")}, "marketing", "email", consent.ReasonWithdrawn},
		{"a withdrawal not yet effective supersedes nothing", []consent.Entry{
			rec(e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z"),
			rec(e("marketing", "email", consent.Withdrawn, "2026-12-01T00:00:00Z"), "2026-07-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"a grant recorded after the withdrawal counts again", []consent.Entry{
			rec(e("marketing", "email", consent.Withdrawn, "2026-07-01T00:00:00Z"), "2026-07-01T00:00:00Z"),
			rec(e("marketing", "email", consent.Granted, "2026-08-01T00:00:00Z"), "2026-08-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"entries recorded together are ordered by effect", []consent.Entry{
			rec(e("marketing", "email", consent.Granted, "2026-10-01T00:00:00Z"), "2026-06-01T00:00:00Z"),
			rec(e("marketing", "email", consent.Withdrawn, "2026-07-01T00:00:00Z"), "2026-06-01T00:00:00Z")}, "marketing", "email", consent.ReasonGranted},
		{"withdraw-all covers a channel without any grant", []consent.Entry{
			e("marketing", "email", consent.Granted, "2026-01-01T00:00:00Z"),
			e("*", "*", consent.Withdrawn, "2026-02-01T00:00:00Z")}, "personalisation", "line", consent.ReasonWithdrawn},
		{"withdraw-all leaves transactional alone", []consent.Entry{
			e("transactional", "email", consent.Granted, "2026-01-01T00:00:00Z"),
			e("*", "*", consent.Withdrawn, "2026-02-01T00:00:00Z")}, "transactional", "email", consent.ReasonGranted},
		{"a wildcard grant does not cover transactional", []consent.Entry{e("*", "*", consent.Granted, "2026-01-01T00:00:00Z")}, "transactional", "email", consent.ReasonNoEntry},
		{"unknown purpose fails closed", []consent.Entry{e("*", "*", consent.Granted, "2026-01-01T00:00:00Z")}, "lottery", "email", consent.ReasonUnknownPurpose},
		{"wildcard purpose query fails closed", []consent.Entry{e("*", "*", consent.Granted, "2026-01-01T00:00:00Z")}, "*", "email", consent.ReasonUnknownPurpose},
		{"unknown channel fails closed", []consent.Entry{e("*", "*", consent.Granted, "2026-01-01T00:00:00Z")}, "marketing", "fax", consent.ReasonUnknownChannel},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := consent.Evaluate(pol, tc.entries, tc.purpose, tc.channel, at)
			require.Equal(t, tc.want, d.Reason)
			require.Equal(t, tc.want == consent.ReasonGranted, d.Granted)
		})
	}
}

func TestNewPolicyRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := consent.NewPolicy([]consent.Purpose{{Name: "x", Versions: []consent.NoticeVersion{{Version: "a"}, {Version: "a"}}}})
	require.ErrorContains(t, err, `purposes[0].versions[1].version: "a" listed twice`)
	_, err = consent.NewPolicy([]consent.Purpose{{Name: "*"}})
	require.ErrorContains(t, err, "purposes[0].name")
}

func TestZeroPolicyKnowsBuiltins(t *testing.T) {
	t.Parallel()
	var p consent.Policy
	require.True(t, p.Known("marketing"))
	require.False(t, p.Known("lottery"))
	require.Len(t, p.Purposes(), 4)
}
