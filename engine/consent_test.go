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

// TestGrantSQLAgreesWithEvaluate builds random ledgers and checks that the
// set-based rule (consent.GrantSQL over the state table or the ledger)
// grants exactly the people consent.Evaluate grants, at several instants.
func TestGrantSQLAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	const people = 300
	var crm strings.Builder
	crm.WriteString("user_id\n")
	for i := range people {
		fmt.Fprintf(&crm, "u%d\n", i)
	}
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", crm.String()))

	purposes := []string{"marketing", "personalisation", "analytics", "*"}
	channels := []string{"email", "sms", "*"}
	statuses := []string{"granted", "granted", "withdrawn", "denied"}
	versions := map[string][]string{"marketing": {"", "2025-01", "2026-06"}, "personalisation": {"", "v1", "v2"}, "*": {"", "v2"}, "analytics": {""}}
	days := []int{-400, -200, -100, -100, -30, -1, 0, 20} // repeats make ties
	var csv strings.Builder
	csv.WriteString("user_id,purpose,channel,status,timestamp,version,expires_at\n")
	for i := range people {
		for range rng.IntN(6) {
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
	mustImport(t, s, engine.ImportConsents, writeFile(t, "consents.csv", csv.String()))

	ids := make([]int64, people)
	ledgers := make([][]consent.Entry, people)
	for i := range people {
		ids[i] = resolve(t, s, fmt.Sprintf("u%d", i))
		var err error
		ledgers[i], err = s.ConsentLedger(ctx, ids[i])
		require.NoError(t, err)
	}
	for _, at := range []time.Time{refNow, refNow.AddDate(0, 0, -50), refNow.AddDate(0, 0, 60)} {
		for _, p := range []string{"marketing", "personalisation", "analytics"} {
			for _, ch := range []string{"email", "sms", "push"} {
				q, args, err := s.ConsentGrantSQL(ctx, p, ch, at)
				require.NoError(t, err)
				rows, err := s.DB().QueryContext(ctx, "SELECT profile_id FROM ("+q+") WHERE granted", args...)
				require.NoError(t, err)
				sqlGranted := map[int64]bool{}
				for rows.Next() {
					var id int64
					require.NoError(t, rows.Scan(&id))
					sqlGranted[id] = true
				}
				require.NoError(t, rows.Err())
				rows.Close()
				for i, id := range ids {
					d := consent.Evaluate(s.Policy(), ledgers[i], p, ch, at)
					require.Equal(t, d.Granted, sqlGranted[id], "person u%d, %s/%s at %s: Evaluate says %s", i, p, ch, at, d.Reason)
				}
			}
		}
	}
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
