package segments

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// evalNow is the evaluation instant of a store: its clock, in UTC, at
// microsecond precision (DuckDB's TIMESTAMP resolution).
func evalNow(st *engine.Store) time.Time { return st.Clock().Now().UTC().Truncate(time.Microsecond) }

// MemberIDs evaluates the segment over the whole store in bulk and returns
// the matching profile ids in ascending order. PathSQL runs one query;
// PathHybrid and PathVM run the VM over the SQL candidates.
func (s *Segment) MemberIDs(ctx context.Context, st *engine.Store) ([]int64, error) {
	return s.MemberIDsAt(ctx, st, evalNow(st))
}

func (s *Segment) memberIDsAt(ctx context.Context, st *engine.Store, now time.Time) ([]int64, error) {
	if s.path == PathSQL {
		return s.sqlIDs(ctx, st, now)
	}
	var ids []int64
	err := s.scan(ctx, st, now, func(snap *Snapshot, ok bool) error {
		if ok {
			ids = append(ids, snap.ID)
		}
		return nil
	})
	return ids, err
}

// SQLMemberIDs runs only the SQL plan (the compiled conjuncts); for
// PathSQL it equals MemberIDs. It exists for tests and benchmarks.
func (s *Segment) SQLMemberIDs(ctx context.Context, st *engine.Store) (ids []int64, err error) {
	err = s.bounded(ctx, func(ctx context.Context) error {
		ids, err = s.sqlIDs(ctx, st, evalNow(st))
		return err
	})
	return ids, err
}

func (s *Segment) sqlIDs(ctx context.Context, st *engine.Store, now time.Time) ([]int64, error) {
	return s.sqlIDsIn(ctx, st, now, nil)
}

// VMMemberIDs evaluates the expression on the VM over every profile (no SQL
// prefilter). It is the reference the agreement tests and `tact bench`
// compare the SQL path with.
func (s *Segment) VMMemberIDs(ctx context.Context, st *engine.Store) ([]int64, error) {
	all := *s
	all.plan = nil
	all.path = PathVM
	var ids []int64
	err := all.bounded(ctx, func(ctx context.Context) error {
		return all.scan(ctx, st, evalNow(st), func(snap *Snapshot, ok bool) error {
			if ok {
				ids = append(ids, snap.ID)
			}
			return nil
		})
	})
	return ids, err
}

// scan loads the candidates of the SQL plan (every profile without one) as
// snapshots, in id order and in bulk (one query per table), and runs the VM
// on each. fn receives each candidate and whether it matched.
func (s *Segment) scan(ctx context.Context, st *engine.Store, now time.Time, fn func(snap *Snapshot, ok bool) error) error {
	return s.scanWith(ctx, st, now, nil, true, fn)
}

// sqlConn is what fromIn needs of a connection.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// scanWith is scan over the profiles ids only (nil: every profile),
// evaluating each candidate when eval is set. It stops with ctx's error
// between profiles once ctx is done.
func (s *Segment) scanWith(ctx context.Context, st *engine.Store, now time.Time, ids []int64, eval bool, fn func(snap *Snapshot, ok bool) error) error {
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	from, args, err := s.fromIn(ctx, conn, st, now, ids)
	if err != nil {
		return err
	}
	// Candidates go to a temporary table once, so that events, consent and
	// memberships are read with one join each.
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE seg_candidates AS SELECT p.* FROM "+from, args...); err != nil {
		return fmt.Errorf("segment candidates: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.seg_candidates")
	}()

	prof, err := conn.QueryContext(ctx, "SELECT * FROM temp.seg_candidates ORDER BY id")
	if err != nil {
		return err
	}
	defer prof.Close()
	cols, err := prof.Columns()
	if err != nil {
		return err
	}
	// The side streams are walked by cursor.each, which checks Err when
	// each one ends.
	var evRows, cRows, mRows *sql.Rows
	if s.uses.events {
		//nolint:rowserrcheck // cursor.each checks Err when the stream ends
		evRows, err = conn.QueryContext(ctx, `SELECT e.profile_id, e.event, e.ts, CAST(e.properties AS VARCHAR) FROM events e
WHERE e.profile_id IN (SELECT id FROM temp.seg_candidates) ORDER BY e.profile_id, e.ts, e.message_id`)
		if err != nil {
			return err
		}
		defer evRows.Close()
	}
	if s.uses.consent {
		//nolint:rowserrcheck // cursor.each checks Err when the stream ends
		cRows, err = conn.QueryContext(ctx, `SELECT profile_id, seq, purpose, channel, status, effective_at, recorded_at, expires_at, notice_version
FROM consent_ledger WHERE profile_id IN (SELECT id FROM temp.seg_candidates) ORDER BY profile_id, seq`)
		if err != nil {
			return err
		}
		defer cRows.Close()
	}
	if len(s.uses.segments) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(s.uses.segments)), ", ")
		sargs := make([]any, len(s.uses.segments))
		for i, n := range s.uses.segments {
			sargs[i] = n
		}
		//nolint:rowserrcheck // cursor.each checks Err when the stream ends
		mRows, err = conn.QueryContext(ctx, `SELECT DISTINCT profile_id, segment FROM segment_members
WHERE segment IN (`+ph+`) AND profile_id IN (SELECT id FROM temp.seg_candidates) ORDER BY profile_id`, sargs...)
		if err != nil {
			return err
		}
		defer mRows.Close()
	}
	evCur := &cursor{rows: evRows}
	cCur := &cursor{rows: cRows}
	mCur := &cursor{rows: mRows}
	ev := s.NewEvaluator(Env{Now: now, Policy: st.Policy()})
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for prof.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := prof.Scan(ptrs...); err != nil {
			return err
		}
		snap := &Snapshot{Fields: make(map[string]any, len(cols))}
		for i, c := range cols {
			if c == "id" {
				snap.ID = vals[i].(int64)
				continue
			}
			snap.Fields[c] = vals[i]
		}
		if evRows != nil {
			if err := evCur.each(snap.ID, scanEvent(snap)); err != nil {
				return err
			}
		}
		if cRows != nil {
			if err := cCur.each(snap.ID, scanConsent(snap)); err != nil {
				return err
			}
		}
		if mRows != nil {
			snap.Segments = map[string]bool{}
			if err := mCur.each(snap.ID, func(r *sql.Rows) error {
				var id int64
				var name string
				if err := r.Scan(&id, &name); err != nil {
					return err
				}
				snap.Segments[name] = true
				return nil
			}); err != nil {
				return err
			}
		}
		ok := false
		if eval {
			ok, _ = ev.eval(snap)
		}
		if err := fn(snap, ok); err != nil {
			return err
		}
	}
	return prof.Err()
}

// cursor walks rows ordered by profile id (first column) alongside the
// profile stream.
type cursor struct {
	rows    *sql.Rows
	peeked  bool
	peekID  int64
	done    bool
	scanErr error
}

// each calls fn for each row of profile id. Rows of smaller ids (profiles
// not in the candidate stream) are skipped.
func (c *cursor) each(id int64, fn func(*sql.Rows) error) error {
	for {
		if c.rows == nil || c.done {
			return c.scanErr
		}
		if !c.peeked {
			if !c.rows.Next() {
				c.done = true
				return c.rows.Err()
			}
			c.peeked = true
			c.peekID = -1
		}
		if c.peekID == -1 {
			// Read the id by scanning the full row into fn lazily: the first
			// column is the id, so scan it through a probe.
			c.peekID = peekFirstID(c.rows)
		}
		if c.peekID > id {
			return nil
		}
		if c.peekID == id {
			if err := fn(c.rows); err != nil {
				return err
			}
		}
		c.peeked = false
	}
}

// peekFirstID reads the first column of the current row without consuming
// the others (database/sql allows scanning a row more than once).
func peekFirstID(r *sql.Rows) int64 {
	cols, _ := r.Columns()
	dst := make([]any, len(cols))
	var id int64
	dst[0] = &id
	for i := 1; i < len(dst); i++ {
		dst[i] = new(any)
	}
	if err := r.Scan(dst...); err != nil {
		return -2
	}
	return id
}

func scanEvent(snap *Snapshot) func(*sql.Rows) error {
	return func(r *sql.Rows) error {
		var id int64
		var e Event
		var props sql.NullString
		if err := r.Scan(&id, &e.Name, &e.Timestamp, &props); err != nil {
			return err
		}
		e.Timestamp = e.Timestamp.UTC()
		e.Properties = decodeProps(props.String)
		snap.Events = append(snap.Events, e)
		return nil
	}
}

func decodeProps(s string) map[string]any {
	m := map[string]any{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
		if m == nil {
			m = map[string]any{}
		}
	}
	return m
}

func scanConsent(snap *Snapshot) func(*sql.Rows) error {
	return func(r *sql.Rows) error {
		var id int64
		var e consent.Entry
		var exp sql.NullTime
		var ver sql.NullString
		var st string
		if err := r.Scan(&id, &e.Seq, &e.Purpose, &e.Channel, &st, &e.EffectiveAt, &e.RecordedAt, &exp, &ver); err != nil {
			return err
		}
		e.Status = consent.Status(st)
		if exp.Valid {
			e.ExpiresAt = exp.Time
		}
		e.NoticeVersion = ver.String
		snap.Consent = append(snap.Consent, e)
		return nil
	}
}

// LoadSnapshot reads one profile through the engine's per-person API:
// the real-time path.
func LoadSnapshot(ctx context.Context, st *engine.Store, id int64) (*Snapshot, error) {
	p, err := st.Profile(ctx, id)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{ID: id, Fields: map[string]any{}}
	for k, v := range p.Traits {
		snap.Fields[k] = v
	}
	for k, v := range map[string]string{"user_id": p.UserID, "email": p.Email, "phone": p.Phone, "timezone": p.Timezone} {
		if v != "" {
			snap.Fields[k] = v
		}
	}
	evs, err := st.Events(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		snap.Events = append(snap.Events, Event{Name: e.Event, Timestamp: e.Timestamp.UTC(), Properties: decodeProps(string(e.Properties))})
	}
	// The store lists newest first; expressions see oldest first, ties in
	// message id order as in bulk.
	type keyed struct {
		e   Event
		mid string
	}
	ks := make([]keyed, len(evs))
	for i, e := range evs {
		ks[i] = keyed{snap.Events[i], e.MessageID}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := a.e.Timestamp.Compare(b.e.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.mid, b.mid)
	})
	for i := range ks {
		snap.Events[i] = ks[i].e
	}
	if snap.Consent, err = st.ConsentLedger(ctx, id); err != nil {
		return nil, err
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT segment FROM segment_members WHERE profile_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	snap.Segments = map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		snap.Segments[n] = true
	}
	return snap, rows.Err()
}

// Match evaluates the segment for one profile on the VM (the real-time
// path), at the store clock's instant.
func (s *Segment) Match(ctx context.Context, st *engine.Store, id int64) (ok bool, err error) {
	err = s.bounded(ctx, func(ctx context.Context) error {
		snap, err := LoadSnapshot(ctx, st, id)
		if err != nil {
			return err
		}
		ok, _ = s.Eval(snap, Env{Now: evalNow(st), Policy: st.Policy()})
		return nil
	})
	return ok, err
}

// EachSnapshot loads every profile (ignoring the SQL plan) as a snapshot
// with the data the expression reads, in id order, in bulk.
func (s *Segment) EachSnapshot(ctx context.Context, st *engine.Store, fn func(*Snapshot) error) error {
	all := *s
	all.plan = nil
	all.path = PathVM
	return all.bounded(ctx, func(ctx context.Context) error {
		return all.scanWith(ctx, st, evalNow(st), nil, false, func(snap *Snapshot, _ bool) error { return fn(snap) })
	})
}
