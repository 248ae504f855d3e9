package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
	"github.com/tactcdp/tact/segments"
)

// generate writes o.Profiles profiles (ids 1..N) with country, age and ltv
// traits, user_id and email identities, ~1% suppressed emails, events over
// the year before o.Now (skewed towards recent days) and marketing/email
// consent (75% granted, 10% withdrawn, 15% no entry), all set-based.
func generate(ctx context.Context, st *engine.Store, o Options) error {
	// One imported row creates the trait columns and catalog entries the
	// way the importer does; it is then replaced by the bulk rows.
	if _, err := st.ImportRows(ctx, engine.ImportProfiles, "bench-seed", []map[string]any{
		{"user_id": "seed", "country": "TH", "age": int64(30), "ltv": 1.5},
	}); err != nil {
		return err
	}
	n := o.Profiles
	now := o.Now
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM identities`, nil},
		{`DELETE FROM profiles`, nil},
		{`INSERT INTO profiles (id, user_id, email, phone, timezone, restricted, objected, first_seen_at, updated_at, country, age, ltv)
SELECT i, 'u' || i,
  CASE WHEN hash(i, 1) % 10 < 9 THEN 'u' || i || '@example.com' END,
  NULL, 'Asia/Bangkok',
  hash(i, 2) % 1000 = 0, hash(i, 3) % 100 = 0, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP),
  ['TH', 'US', 'VN', 'SG', 'MY', 'ID', 'PH', 'JP'][1 + CAST(hash(i, 4) % 8 AS INTEGER)],
  CASE WHEN hash(i, 5) % 20 = 0 THEN NULL ELSE 16 + CAST(hash(i, 6) % 60 AS BIGINT) END,
  CAST(hash(i, 7) % 100000 AS DOUBLE) / 100
FROM range(1, {N} + 1) t(i)`, []any{now, now}},
		{`INSERT INTO identities SELECT id, 'user_id', user_id, md5('user_id:' || user_id), 'bench', CAST(? AS TIMESTAMP) FROM profiles`, []any{now}},
		{`INSERT INTO identities SELECT id, 'email', email, md5('email:' || email), 'bench', CAST(? AS TIMESTAMP) FROM profiles WHERE email IS NOT NULL`, []any{now}},
		{`INSERT INTO suppressions SELECT md5('email:' || email), 'email', 'hard_bounce', 'bench', CAST(? AS TIMESTAMP) FROM profiles WHERE email IS NOT NULL AND hash(id, 8) % 100 = 0`, []any{now}},
		{`INSERT INTO events (profile_id, event, ts, properties, message_id, received_at, source)
SELECT pid, ev, ts, CASE WHEN ev = 'purchase' THEN json_object('amount', CAST(hash(j, 13) % 20000 AS DOUBLE) / 100) END,
  'm' || j, CAST(? AS TIMESTAMP), 'bench'
FROM (SELECT j, 1 + CAST(hash(j, 10) % CAST(? AS BIGINT) AS BIGINT) AS pid,
        ['purchase', 'view', 'view', 'view', 'click', 'purchase', 'signup', 'view', 'click', 'purchase'][1 + CAST(hash(j, 11) % 10 AS INTEGER)] AS ev,
        CAST(? AS TIMESTAMP) - to_seconds(1 + CAST(pow(CAST(hash(j, 12) % 1000000 AS DOUBLE) / 1000000, 2) * 31536000 AS BIGINT)) AS ts
      FROM range(0, {N}) t(j))`, []any{now, int64(n), now}},
		{`INSERT INTO consent_ledger
SELECT row_number() OVER (ORDER BY id), id, 'marketing', 'email', CASE WHEN h < 75 THEN 'granted' ELSE 'withdrawn' END,
  CAST(? AS TIMESTAMP) - INTERVAL 100 DAY, CAST(? AS TIMESTAMP), NULL, NULL, 'bench', 'bench', 'k' || id
FROM (SELECT id, hash(id, 20) % 100 AS h FROM profiles) WHERE h < 85`, []any{now, now}},
	}
	// range() takes no bind parameters: its bounds (integers) are formatted.
	stmts[2].q = strings.Replace(stmts[2].q, "{N}", strconv.Itoa(n), 1)
	stmts[6].q = strings.Replace(stmts[6].q, "{N}", strconv.Itoa(n*o.EventsPerProfile), 1)
	for i, s := range stmts {
		start := time.Now()
		if _, err := st.DB().ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		fmt.Fprintf(o.Log, "  step %d: %s\n", i, time.Since(start).Round(time.Millisecond))
	}
	if err := st.RebuildConsentState(ctx); err != nil {
		return fmt.Errorf("consent state: %w", err)
	}
	_, err := st.DB().ExecContext(ctx, `CHECKPOINT`)
	return err
}

func appendIDs(conn *sql.Conn, ids []int64) error {
	return dbtx.AppendN(conn, "vm_ids", len(ids), func(i int) []driver.Value { return []driver.Value{ids[i]} })
}

// vmEvalOnly times the VM alone: snapshots of the first o.VMSample
// profiles (with their events) are loaded first, then evaluated.
func vmEvalOnly(ctx context.Context, st *engine.Store, seg *segments.Segment, o Options, r *Result) error {
	var snaps []*segments.Snapshot
	errStop := fmt.Errorf("enough")
	err := seg.EachSnapshot(ctx, st, func(s *segments.Snapshot) error {
		snaps = append(snaps, s)
		if len(snaps) >= o.VMSample {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	ev := seg.NewEvaluator(segments.Env{Now: o.Now, Policy: st.Policy()})
	best := time.Duration(0)
	for k := 0; k < o.Repeat; k++ {
		start := time.Now()
		for _, s := range snaps {
			ev.Eval(s)
		}
		d := time.Since(start)
		if k == 0 || d < best {
			best = d
		}
	}
	r.VMEval.Profiles = len(snaps)
	if len(snaps) > 0 {
		r.VMEval.NanosPerProfile = float64(best.Nanoseconds()) / float64(len(snaps))
		r.VMEval.ProfilesPerSec = float64(int(1e9 / r.VMEval.NanosPerProfile))
	}
	return nil
}
