package engine

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
)

// trackingNow is the clock of the tracking tests.
var trackingNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// wholeTableDropsSQL is the tracking-permission check as it was before it
// was narrowed to the batch's people: every person's analytics decision,
// then a join with the batch. It is the reference the narrowed check must
// agree with.
func wholeTableDropsSQL(t *testing.T, s *Store, now time.Time) (string, []any) {
	t.Helper()
	var withdrawn []string
	var args []any
	for _, ch := range consent.Channels() {
		q, a, err := s.ConsentGrantSQL(context.Background(), PurposeAnalytics, ch, now)
		require.NoError(t, err)
		withdrawn = append(withdrawn, "SELECT profile_id FROM ("+q+") WHERE NOT granted")
		args = append(args, a...)
	}
	return fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE _evdrop_ref AS
SELECT s._row, CASE WHEN p.restricted THEN '%s' WHEN p.objected THEN '%s' ELSE '%s' END AS reason
FROM _ev s
JOIN identities i ON i.kind = s._pkind AND i.value = s._pvalue
JOIN profiles p ON p.id = i.profile_id
WHERE NOT %s
  AND (p.restricted OR p.objected OR p.id IN (%s))`,
		DropRestricted, DropObjected, DropAnalyticsWithdrawn, exemptEventSQL, strings.Join(withdrawn, " UNION ")), args
}

// trackingStore opens a store of people u0…u(n-1) with a random consent
// history each (analytics and other purposes, every channel, withdraw-alls,
// expiries), some restricted and some objected. With future set, one entry
// takes effect after now, so consent is decided over the whole ledger.
func trackingStore(t *testing.T, n int, future bool) (*Store, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tact.duckdb"), Options{Config: Config{DefaultRegion: "TH"}, Clock: clock.NewManual(trackingNow)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{KindUserID: fmt.Sprintf("u%d", i)}
	}
	_, err = s.ImportRows(ctx, ImportProfiles, "people", rows)
	require.NoError(t, err)
	ids := map[string]int64{}
	r, err := s.db.QueryContext(ctx, `SELECT value, profile_id FROM identities WHERE kind = 'user_id'`)
	require.NoError(t, err)
	for r.Next() {
		var v string
		var id int64
		require.NoError(t, r.Scan(&v, &id))
		ids[v] = id
	}
	require.NoError(t, r.Close())

	rnd := rand.New(rand.NewPCG(16, 2))
	purposes := []string{PurposeAnalytics, PurposeAnalytics, "marketing", consent.Wildcard}
	channels := append(consent.Channels(), consent.Wildcard)
	statuses := []consent.Status{consent.Granted, consent.Granted, consent.Withdrawn, consent.Denied}
	var ins []ConsentInput
	for i := 0; i < n; i++ {
		for range rnd.IntN(5) {
			in := ConsentInput{ProfileID: ids[fmt.Sprintf("u%d", i)], Purpose: purposes[rnd.IntN(len(purposes))],
				Channel: channels[rnd.IntN(len(channels))], Status: statuses[rnd.IntN(len(statuses))],
				EffectiveAt: trackingNow.Add(-time.Duration(1+rnd.IntN(900)) * time.Hour), Source: "test"}
			if in.Purpose == consent.Wildcard && in.Status == consent.Granted {
				in.Status = consent.Withdrawn
			}
			if in.Status == consent.Granted && rnd.IntN(3) == 0 {
				in.ExpiresAt = in.EffectiveAt.Add(time.Duration(1+rnd.IntN(1200)) * time.Hour) // some already expired
			}
			ins = append(ins, in)
		}
	}
	if future {
		ins = append(ins, ConsentInput{ProfileID: ids["u1"], Purpose: PurposeAnalytics, Channel: "email", Status: consent.Withdrawn,
			EffectiveAt: trackingNow.Add(48 * time.Hour), Source: "test"})
	}
	require.NoError(t, s.RecordConsents(ctx, ins))
	for i := 0; i < n; i += 7 {
		_, err := s.db.ExecContext(ctx, `UPDATE profiles SET restricted = true WHERE id = ?`, ids[fmt.Sprintf("u%d", i)])
		require.NoError(t, err)
	}
	for i := 3; i < n; i += 11 {
		_, err := s.db.ExecContext(ctx, `UPDATE profiles SET objected = true WHERE id = ?`, ids[fmt.Sprintf("u%d", i)])
		require.NoError(t, err)
	}
	return s, ids
}

// trackingBatch is events of people u0…u(people-1), a few per person, some
// of them exempt (stored whatever the person chose).
func trackingBatch(people int) IngestEvents {
	var ev IngestEvents
	names := []string{"page", "email_unsubscribed", "cart", "consent_changed", "buy"}
	for i := 0; i < people*3; i++ {
		ev.UserID = append(ev.UserID, fmt.Sprintf("u%d", i%people))
		ev.AnonymousID = append(ev.AnonymousID, "")
		ev.Event = append(ev.Event, names[i%len(names)])
		ev.TS = append(ev.TS, trackingNow)
		ev.Properties = append(ev.Properties, "")
		ev.Context = append(ev.Context, "")
		ev.MessageID = append(ev.MessageID, fmt.Sprintf("m%d", i))
	}
	return ev
}

// stageTrackingBatch stages ev and its owners as ingestEvents does.
func stageTrackingBatch(t *testing.T, s *Store, w *writer, ev IngestEvents) {
	t.Helper()
	require.NoError(t, s.stageIngestEvents(w, "b", &ev))
	_, err := w.exec(ingestQuery("ingest-owners"))
	require.NoError(t, err)
	w.temps = append(w.temps, "_evowner")
}

// TestTrackingDropsMatchWholeTableCheck: the check narrowed to the batch's
// people drops exactly the events the whole-table check dropped, with the
// same reasons, whether consent is decided over the current state or over
// the whole ledger (an entry takes effect later).
func TestTrackingDropsMatchWholeTableCheck(t *testing.T) {
	t.Parallel()
	for _, future := range []bool{false, true} {
		t.Run(fmt.Sprintf("future=%v", future), func(t *testing.T) {
			t.Parallel()
			s, _ := trackingStore(t, 300, future)
			require.NoError(t, s.write(context.Background(), func(w *writer) error {
				stageTrackingBatch(t, s, w, trackingBatch(200))
				ref, refArgs := wholeTableDropsSQL(t, s, trackingNow)
				_, err := w.exec(ref, refArgs...)
				require.NoError(t, err)
				w.temps = append(w.temps, "_evdrop_ref")
				q, args, err := s.trackingDropsSQL(w, "_evowner", trackingNow)
				require.NoError(t, err)
				_, err = w.exec(q, args...)
				require.NoError(t, err)
				w.temps = append(w.temps, "_evdrop")
				want, got := dropRows(t, w, "_evdrop_ref"), dropRows(t, w, "_evdrop")
				reasons := map[string]bool{}
				for _, r := range want {
					reasons[r[1].(string)] = true
				}
				require.Len(t, reasons, 3, "the population exercises every reason")
				require.Equal(t, want, got)
				return nil
			}))
		})
	}
}

func dropRows(t *testing.T, w *writer, table string) [][]driver.Value {
	t.Helper()
	rows, err := w.query(`SELECT _row, reason FROM ` + table + ` ORDER BY _row`)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]driver.Value
	for rows.Next() {
		var row int64
		var reason string
		require.NoError(t, rows.Scan(&row, &reason))
		out = append(out, []driver.Value{row, reason})
	}
	require.NoError(t, rows.Err())
	return out
}

// profileNode is one operator of DuckDB's JSON query profile.
type profileNode struct {
	Type        string        `json:"operator_type"`
	Cardinality int64         `json:"operator_cardinality"`
	Children    []profileNode `json:"children"`
}

// TestTrackingDecidesConsentForTheBatchOnly: the consent decision of a
// commit reads the entries of the batch's people, not everyone's: no
// window or aggregate of the tracking check handles more rows than those
// people's entries, in a database where others hold many times more. This
// is what keeps the check's cost with the batch rather than the database.
func TestTrackingDecidesConsentForTheBatchOnly(t *testing.T) {
	t.Parallel()
	s, _ := trackingStore(t, 400, false)
	profile := filepath.Join(t.TempDir(), "profile.json")
	require.NoError(t, s.write(context.Background(), func(w *writer) error {
		stageTrackingBatch(t, s, w, trackingBatch(10))
		var batchEntries, allEntries int64
		require.NoError(t, w.queryRow(`SELECT count(*) FILTER (WHERE profile_id IN (SELECT profile_id FROM identities WHERE kind = 'user_id' AND value IN (SELECT user_id FROM _ev))), count(*) FROM consent_state`).
			Scan(&batchEntries, &allEntries))
		require.Greater(t, allEntries, 10*batchEntries, "the others hold many more entries")
		q, args, err := s.trackingDropsSQL(w, "_evowner", trackingNow)
		require.NoError(t, err)
		for _, p := range []string{`PRAGMA enable_profiling = 'json'`, `PRAGMA profiling_output = '` + profile + `'`} {
			_, err := w.exec(p)
			require.NoError(t, err)
		}
		_, err = w.exec(q, args...)
		require.NoError(t, err)
		w.temps = append(w.temps, "_evdrop")
		_, err = w.exec(`PRAGMA disable_profiling`)
		require.NoError(t, err)
		b, err := os.ReadFile(profile)
		require.NoError(t, err)
		var root profileNode
		require.NoError(t, json.Unmarshal(b, &root))
		var walk func(n profileNode)
		seen := 0
		walk = func(n profileNode) {
			if strings.Contains(n.Type, "WINDOW") || strings.Contains(n.Type, "GROUP_BY") {
				seen++
				require.LessOrEqual(t, n.Cardinality, batchEntries, "%s handles %d rows", n.Type, n.Cardinality)
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(root)
		require.NotZero(t, seen, "the profile shows the decision's operators")
		return nil
	}))
}
