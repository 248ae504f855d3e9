package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// TestGrantSQLAgreesWithEvaluate builds random ledgers, recorded in several
// imports at different instants and with future-dated entries, and checks
// that the set-based rule (consent.GrantSQL over the state table or the
// ledger) gives exactly the decision and reason consent.Evaluate gives, at
// instants before, between and after the entries take effect.
func TestGrantSQLAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	s, clk, _ := openStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	const people = 300
	var crm strings.Builder
	crm.WriteString("user_id\n")
	for i := range people {
		fmt.Fprintf(&crm, "u%d\n", i)
	}
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", crm.String()))

	purposes := []string{"marketing", "personalisation", "analytics", "transactional", "*"}
	channels := []string{"email", "sms", "*"}
	statuses := []string{"granted", "granted", "withdrawn", "denied"}
	versions := map[string][]string{"marketing": {"", "2025-01", "2026-06"}, "personalisation": {"", "v1", "v2"}, "*": {"", "v2"}, "analytics": {""}, "transactional": {""}}
	days := []int{-400, -200, -100, -100, -30, -1, 0, 20, 45, 90} // repeats make ties; positive: future-dated
	// Three imports, a month apart: a later import's withdrawal supersedes
	// an earlier import's future-dated grant.
	for batch := range 3 {
		var csv strings.Builder
		csv.WriteString("user_id,purpose,channel,status,timestamp,version,expires_at\n")
		for i := range people {
			for range rng.IntN(3) {
				p := purposes[rng.IntN(len(purposes))]
				eff := refNow.AddDate(0, 0, days[rng.IntN(len(days))])
				exp := ""
				if rng.IntN(4) == 0 {
					exp = eff.AddDate(0, 0, 1+rng.IntN(300)).Format(time.RFC3339)
				}
				vs := versions[p]
				fmt.Fprintf(&csv, "u%d,%s,%s,%s,%s,%s,%s\n", i, p, channels[rng.IntN(len(channels))], statuses[rng.IntN(len(statuses))],
					eff.Format(time.RFC3339), vs[rng.IntN(len(vs))], exp)
			}
		}
		mustImport(t, s, engine.ImportConsents, writeFile(t, fmt.Sprintf("consents%d.csv", batch), csv.String()))
		clk.Advance(30 * 24 * time.Hour)
	}

	ids := make([]int64, people)
	ledgers := make([][]consent.Entry, people)
	for i := range people {
		ids[i] = resolve(t, s, fmt.Sprintf("u%d", i))
		var err error
		ledgers[i], err = s.ConsentLedger(ctx, ids[i])
		require.NoError(t, err)
	}
	superseded := 0
	for _, at := range []time.Time{refNow, refNow.AddDate(0, 0, -50), refNow.AddDate(0, 0, 30), refNow.AddDate(0, 0, 60), refNow.AddDate(0, 0, 200)} {
		for _, p := range []string{"marketing", "personalisation", "analytics", "transactional"} {
			byChannel := sqlDecisionsByChannel(t, s, p, []string{"email", "sms", "push"}, at)
			for _, ch := range []string{"email", "sms", "push"} {
				got := sqlDecisions(t, s, p, ch, at)
				require.Equal(t, got, byChannel[ch], "%s/%s at %s: the rule for several channels at once decides as the rule for one", p, ch, at)
				for i, id := range ids {
					d := consent.Evaluate(s.Policy(), ledgers[i], p, ch, at)
					r, ok := got[id]
					if !ok {
						r = consent.ReasonNoEntry
					}
					require.Equal(t, d.Reason, r, "person u%d, %s/%s at %s", i, p, ch, at)
					if d.Granted != oldRuleGrants(ledgers[i], p, ch, at, s.Policy()) {
						superseded++
					}
				}
			}
		}
	}
	require.Positive(t, superseded, "the sample must exercise supersession of earlier-recorded entries")
}

// sqlDecisions runs the set-based rule and returns each profile's reason;
// a profile without a row has no entry.
func sqlDecisions(t *testing.T, s *engine.Store, purpose, channel string, at time.Time) map[int64]consent.Reason {
	t.Helper()
	q, args, err := s.ConsentGrantSQL(context.Background(), purpose, channel, at)
	require.NoError(t, err)
	rows, err := s.DB().Query("SELECT profile_id, granted, reason FROM ("+q+")", args...)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]consent.Reason{}
	for rows.Next() {
		var id int64
		var granted bool
		var reason string
		require.NoError(t, rows.Scan(&id, &granted, &reason))
		require.Equal(t, reason == string(consent.ReasonGranted), granted)
		out[id] = consent.Reason(reason)
	}
	require.NoError(t, rows.Err())
	return out
}

// sqlDecisionsByChannel runs the set-based rule for several channels in
// one query and returns each channel's reasons by profile.
func sqlDecisionsByChannel(t *testing.T, s *engine.Store, purpose string, channels []string, at time.Time) map[string]map[int64]consent.Reason {
	t.Helper()
	q, args, err := s.ConsentGrantsByChannelSQL(context.Background(), purpose, channels, at)
	require.NoError(t, err)
	rows, err := s.DB().Query("SELECT profile_id, channel, granted, reason FROM ("+q+")", args...)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]map[int64]consent.Reason{}
	for _, ch := range channels {
		out[ch] = map[int64]consent.Reason{}
	}
	for rows.Next() {
		var id int64
		var ch, reason string
		var granted bool
		require.NoError(t, rows.Scan(&id, &ch, &granted, &reason))
		require.Equal(t, reason == string(consent.ReasonGranted), granted)
		require.Contains(t, out, ch)
		out[ch][id] = consent.Reason(reason)
	}
	require.NoError(t, rows.Err())
	return out
}

// oldRuleGrants is Evaluate without supersession (every entry recorded at
// one instant), to show the sample exercises the rule.
func oldRuleGrants(ledger []consent.Entry, purpose, channel string, at time.Time, p consent.Policy) bool {
	flat := make([]consent.Entry, len(ledger))
	for i, e := range ledger {
		e.RecordedAt = time.Time{}
		flat[i] = e
	}
	return consent.Evaluate(p, flat, purpose, channel, at).Granted
}

func TestMergeNeverResurrectsAGrant(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	// Two profiles of one person, not yet linked: the CRM one granted long
	// ago; the web one withdrew later.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email\nu1,ann@example.com\n"))
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "web.csv", "anonymous_id\na-1\n"))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv", `user_id,anonymous_id,purpose,channel,status,timestamp
u1,,marketing,email,granted,2025-01-01T00:00:00Z
,a-1,marketing,*,withdrawn,2026-03-01T00:00:00Z
u1,,analytics,email,granted,2026-04-01T00:00:00Z
`))
	u1 := resolve(t, s, "u1")
	d, err := s.EvaluateConsent(ctx, u1, "marketing", "email", refNow)
	require.NoError(t, err)
	require.True(t, d.Granted, "before the merge only the old grant is visible")

	mustImport(t, s, engine.ImportProfiles, writeFile(t, "identify.csv", "anonymous_id,email\na-1,ann@example.com\n"))
	require.Equal(t, u1, resolve(t, s, "a-1"))
	ledger, err := s.ConsentLedger(ctx, u1)
	require.NoError(t, err)
	require.Len(t, ledger, 3, "the merged ledger is the union")
	d, err = s.EvaluateConsent(ctx, u1, "marketing", "email", refNow)
	require.NoError(t, err)
	require.Equal(t, consent.ReasonWithdrawn, d.Reason, "the later withdrawal wins over the older grant")
	require.False(t, grantedInSQL(t, s, u1, "marketing", "email"), "the state table agrees after the merge")
	require.True(t, grantedInSQL(t, s, u1, "analytics", "email"))
}

func grantedInSQL(t *testing.T, s *engine.Store, id int64, purpose, channel string) bool {
	t.Helper()
	q, args, err := s.ConsentGrantSQL(context.Background(), purpose, channel, refNow)
	require.NoError(t, err)
	var granted bool
	err = s.DB().QueryRow("SELECT coalesce(bool_or(granted), false) FROM ("+q+") WHERE profile_id = ?", append(args, id)...).Scan(&granted)
	require.NoError(t, err)
	return granted
}

func TestRecordConsent(t *testing.T) {
	t.Parallel()
	s, clk, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id\nu1\n"))
	id := resolve(t, s, "u1")
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email", Status: consent.Granted, NoticeVersion: "2026-06", Source: "cli"}))
	require.True(t, grantedInSQL(t, s, id, "marketing", "email"))
	clk.Advance(time.Minute)
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Purpose: "*", Channel: "*", Status: consent.Withdrawn, Source: "preference_centre"}))
	d, err := s.EvaluateConsent(ctx, id, "marketing", "email", clk.Now())
	require.NoError(t, err)
	require.Equal(t, consent.ReasonWithdrawn, d.Reason)

	before := counts(t, s)
	bad := []struct {
		in   engine.ConsentInput
		want string
	}{
		{engine.ConsentInput{ProfileID: id, Purpose: "lottery", Channel: "email", Status: consent.Granted, Source: "cli"}, "consents[0].purpose: unknown purpose"},
		{engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "fax", Status: consent.Granted, Source: "cli"}, "consents[0].channel: unknown channel"},
		{engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email", Status: "maybe", Source: "cli"}, "consents[0].status"},
		{engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email", Status: consent.Granted}, "consents[0].source: required"},
		{engine.ConsentInput{ProfileID: 999, Purpose: "marketing", Channel: "email", Status: consent.Granted, Source: "cli"}, "no profile matches profile id 999"},
	}
	for _, b := range bad {
		require.ErrorContains(t, s.RecordConsent(ctx, b.in), b.want)
	}
	require.Equal(t, before, counts(t, s))
}

func TestFutureDatedEntriesUseTheLedger(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id\nu1\n"))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv", `user_id,purpose,channel,status,timestamp
u1,marketing,email,granted,2026-01-01T00:00:00Z
u1,marketing,email,withdrawn,2026-12-01T00:00:00Z
`))
	id := resolve(t, s, "u1")
	require.True(t, grantedInSQL(t, s, id, "marketing", "email"), "a withdrawal scheduled for December does not apply in November")
}
