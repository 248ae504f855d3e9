package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/internal/dbtx"
	"github.com/tactcdp/tact/segments"
)

// Expression is the benchmarked segment (the example of issue 3).
const Expression = `country == "TH" and age >= 25 and count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`

// Options size the data set.
type Options struct {
	Profiles         int       // default 1,000,000
	EventsPerProfile int       // default 5
	Dir              string    // where the scratch database goes (required)
	Now              time.Time // default 2026-11-01T00:00:00Z
	Repeat           int       // timed runs per query, best kept; default 3
	// VMSample bounds the profiles whose snapshots are held in memory for
	// the evaluation-only VM timing; default 200,000.
	VMSample int
	Log      io.Writer // progress; may be nil
}

// Timing is one measured path.
type Timing struct {
	Millis float64 `json:"ms"`
	Count  int64   `json:"count"`
}

// Result is what `tact bench` prints.
type Result struct {
	Profiles       int     `json:"profiles"`
	Events         int64   `json:"events"`
	ConsentEntries int64   `json:"consent_entries"`
	Expression     string  `json:"expression"`
	Path           string  `json:"path"`
	Purpose        string  `json:"purpose"`
	Channel        string  `json:"channel"`
	SetupMillis    float64 `json:"setup_ms"`
	Segment        struct {
		SQL  Timing `json:"sql_path"`
		VM   Timing `json:"vm_path"`
		Hand Timing `json:"hand_written_sql"`
	} `json:"segment"`
	Audience struct {
		SQL  Timing `json:"sql_path"`
		VM   Timing `json:"vm_path"`
		Hand Timing `json:"hand_written_sql"`
	} `json:"audience"`
	VMEval struct {
		Profiles        int     `json:"profiles"`
		NanosPerProfile float64 `json:"ns_per_profile"`
		ProfilesPerSec  float64 `json:"profiles_per_second"`
	} `json:"vm_eval_only"`
	Ratios struct {
		VMOverSQLSegment    float64 `json:"vm_over_sql_segment"`
		VMOverSQLAudience   float64 `json:"vm_over_sql_audience"`
		SQLOverHandSegment  float64 `json:"sql_over_hand_segment"`
		SQLOverHandAudience float64 `json:"sql_over_hand_audience"`
		VMEvalOverSQLPerRow float64 `json:"vm_eval_only_over_sql_segment"`
	} `json:"ratios"`
	Agree bool `json:"paths_agree"`
}

func (o *Options) defaults() {
	if o.Profiles <= 0 {
		o.Profiles = 1_000_000
	}
	if o.EventsPerProfile <= 0 {
		o.EventsPerProfile = 5
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Repeat <= 0 {
		o.Repeat = 3
	}
	if o.VMSample <= 0 {
		o.VMSample = 200_000
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timed is one query of a round and where its fastest run is kept.
type timed struct {
	into *Timing
	run  func() (int64, error)
}

// rounds runs every query once per round, repeat rounds, and keeps each
// query's fastest run.
func rounds(repeat int, qs []timed) error {
	for i := 0; i < repeat; i++ {
		for _, q := range qs {
			start := time.Now()
			n, err := q.run()
			d := time.Since(start)
			if err != nil {
				return err
			}
			if i == 0 || ms(d) < q.into.Millis {
				*q.into = Timing{Millis: ms(d), Count: n}
			}
		}
	}
	return nil
}

// best runs fn repeat times and keeps the fastest.
func best(repeat int, fn func() (int64, error)) (Timing, error) {
	var out Timing
	for i := 0; i < repeat; i++ {
		start := time.Now()
		n, err := fn()
		d := time.Since(start)
		if err != nil {
			return out, err
		}
		if i == 0 || ms(d) < out.Millis {
			out = Timing{Millis: ms(d), Count: n}
		}
	}
	return out, nil
}

// Run generates the data set and measures every path.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	var r Result
	r.Profiles, r.Expression, r.Purpose, r.Channel = o.Profiles, Expression, "marketing", "email"
	st, err := engine.Open(ctx, filepath.Join(o.Dir, "bench.duckdb"), engine.Options{Clock: clock.Fixed(o.Now)})
	if err != nil {
		return r, err
	}
	defer func() { _ = st.Close() }()
	start := time.Now()
	fmt.Fprintf(o.Log, "generating %d profiles with ~%d events each...\n", o.Profiles, o.EventsPerProfile)
	if err := generate(ctx, st, o); err != nil {
		return r, fmt.Errorf("generate: %w", err)
	}
	r.SetupMillis = ms(time.Since(start))
	db := st.DB()
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&r.Events); err != nil {
		return r, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM consent_ledger`).Scan(&r.ConsentEntries); err != nil {
		return r, err
	}
	sc, err := segments.SchemaFromStore(ctx, st)
	if err != nil {
		return r, err
	}
	seg, err := segments.Compile(Expression, sc)
	if err != nil {
		return r, err
	}
	r.Path = string(seg.Path())
	aud, err := segments.NewAudience(st, seg, "marketing", "email")
	if err != nil {
		return r, err
	}
	fmt.Fprintln(o.Log, "timing the SQL path and the hand-written queries, alternately...")
	ago := o.Now.Add(-30 * 24 * time.Hour)
	var sqlIDs, handIDs []int64
	// Each round runs the four queries once, so that a change in the
	// machine's load touches both sides of a ratio alike; the fastest run
	// of each is kept. Both sides of the segment return the member ids in
	// id order to Go, so they do the same work.
	err = rounds(o.Repeat, []timed{
		{&r.Segment.SQL, func() (int64, error) {
			ids, err := seg.MemberIDs(ctx, st)
			sqlIDs = ids
			return int64(len(ids)), err
		}},
		{&r.Segment.Hand, func() (int64, error) {
			ids, err := dbtx.QueryColumn[int64](ctx, db, handSegment, ago)
			handIDs = ids
			return int64(len(ids)), err
		}},
		{&r.Audience.SQL, func() (int64, error) {
			c, err := aud.Count(ctx, st)
			return c.Count, err
		}},
		{&r.Audience.Hand, func() (int64, error) {
			var n int64
			err := db.QueryRowContext(ctx, handAudience, ago, o.Now, o.Now).Scan(&n)
			return n, err
		}},
	})
	if err != nil {
		return r, err
	}
	fmt.Fprintln(o.Log, "timing the VM path over every profile (bulk load + VM)...")
	var vmIDs []int64
	if r.Segment.VM, err = best(1, func() (int64, error) {
		ids, err := seg.VMMemberIDs(ctx, st)
		vmIDs = ids
		return int64(len(ids)), err
	}); err != nil {
		return r, err
	}
	// The VM audience: the VM decides segment membership over every
	// profile, the audience rule is then applied to those ids in SQL.
	r.Audience.VM = r.Segment.VM
	if r.Audience.VM, err = best(1, func() (int64, error) {
		ids, err := seg.VMMemberIDs(ctx, st)
		if err != nil {
			return 0, err
		}
		return audienceOf(ctx, st, ids, o.Now)
	}); err != nil {
		return r, err
	}
	r.Agree = equal(sqlIDs, vmIDs) && equal(sqlIDs, handIDs) && r.Audience.SQL.Count == r.Audience.VM.Count &&
		r.Audience.SQL.Count == r.Audience.Hand.Count
	fmt.Fprintln(o.Log, "timing VM evaluation alone on in-memory snapshots...")
	if err := vmEvalOnly(ctx, st, seg, o, &r); err != nil {
		return r, err
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return float64(int(a/b*100+0.5)) / 100
	}
	r.Ratios.VMOverSQLSegment = div(r.Segment.VM.Millis, r.Segment.SQL.Millis)
	r.Ratios.VMOverSQLAudience = div(r.Audience.VM.Millis, r.Audience.SQL.Millis)
	r.Ratios.SQLOverHandSegment = div(r.Segment.SQL.Millis, r.Segment.Hand.Millis)
	r.Ratios.SQLOverHandAudience = div(r.Audience.SQL.Millis, r.Audience.Hand.Millis)
	r.Ratios.VMEvalOverSQLPerRow = div(r.VMEval.NanosPerProfile*float64(o.Profiles)/1e6, r.Segment.SQL.Millis)
	return r, nil
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// handSegment is the predicate written by hand: the event condition as a
// semi-join with HAVING.
const handSegment = `SELECT p.id FROM profiles p
JOIN (SELECT profile_id FROM events WHERE event = 'purchase' AND ts > ? GROUP BY profile_id HAVING count(*) >= 2) e ON e.profile_id = p.id
WHERE p.country = 'TH' AND p.age >= 25
ORDER BY p.id`

// handAudience adds the consent rule (latest matching entry is an
// unexpired grant), reachability and suppression by hand.
const handAudience = `SELECT count(*) FROM profiles p
JOIN (SELECT profile_id FROM events WHERE event = 'purchase' AND ts > ? GROUP BY profile_id HAVING count(*) >= 2) e ON e.profile_id = p.id
JOIN (SELECT profile_id FROM consent_state
      WHERE purpose IN ('marketing', '*') AND channel IN ('email', '*') AND effective_at <= ?
      GROUP BY profile_id
      HAVING arg_max(status = 'granted' AND (expires_at IS NULL OR expires_at > ?), epoch_us(effective_at)::HUGEINT * 8589934592 + (CASE WHEN status = 'granted' THEN 0 ELSE 4294967296 END) + seq)) c
  ON c.profile_id = p.id
WHERE p.country = 'TH' AND p.age >= 25 AND NOT p.restricted AND NOT p.objected AND p.email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM identities i JOIN suppressions s ON s.addr_hash = i.value_hash
                  WHERE i.profile_id = p.id AND i.kind = 'email' AND i.value = p.email)`

func audienceOf(ctx context.Context, st *engine.Store, ids []int64, now time.Time) (int64, error) {
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE vm_ids (id BIGINT)`); err != nil {
		return 0, err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.vm_ids`) }()
	if err := appendIDs(conn, ids); err != nil {
		return 0, err
	}
	q, args, err := st.ConsentGrantSQL(ctx, "marketing", "email", now)
	if err != nil {
		return 0, err
	}
	var n int64
	err = conn.QueryRowContext(ctx, `SELECT count(*) FROM temp.vm_ids v JOIN profiles p ON p.id = v.id
JOIN (`+q+`) g ON g.profile_id = p.id AND g.granted
WHERE NOT p.restricted AND NOT p.objected AND p.email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM identities i JOIN suppressions s ON s.addr_hash = i.value_hash
                  WHERE i.profile_id = p.id AND i.kind = 'email' AND i.value = p.email)`, args...).Scan(&n)
	return n, err
}
