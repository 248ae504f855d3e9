package segments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/internal/dbtx"
)

// Removal reasons, in the order they are applied: a person removed for an
// earlier reason is not counted again for a later one, so the counts add
// up to the segment size minus the audience size.
const (
	RemovedRestricted  = "restricted"  // processing restricted: excluded from everything
	RemovedObjected    = "objected"    // objected to marketing (any purpose but transactional)
	RemovedNoConsent   = "no_consent"  // consent.Evaluate is not granted (withdrawn and expired included)
	RemovedUnreachable = "unreachable" // no address on the channel
	RemovedSuppressed  = "suppressed"  // every address on the channel is suppressed
)

// RemovalOrder lists the removal reasons in the order they are applied.
func RemovalOrder() []string {
	return []string{RemovedRestricted, RemovedObjected, RemovedNoConsent, RemovedUnreachable, RemovedSuppressed}
}

// Audience is a segment restricted to the people who may be contacted for
// a purpose on a channel: the segment's members whom the eligibility
// decision's person-level terms allow (package engine/eligibility:
// restricted, objected, consent, reachable, suppressed, in that order; the
// send policy applies later, at the send). The bulk path runs its SQL form
// (engine.EligibilitySQL), Check its per-person form.
//
// With an empty Purpose the audience is the segment minus restricted
// profiles (excluded from all processing) and objected ones (an objection
// covers profiling, which a member list for no stated purpose is).
type Audience struct {
	Segment *Segment
	Purpose string
	Channel string
}

// NewAudience validates purpose and channel against the store's policy.
func NewAudience(st *engine.Store, seg *Segment, purpose, channel string) (*Audience, error) {
	if seg == nil {
		return nil, errors.New("audience: no segment")
	}
	if (purpose == "") != (channel == "") {
		return nil, errors.New("audience: give both a purpose and a channel, or neither")
	}
	if purpose != "" {
		if purpose == consent.Wildcard || !st.Policy().Known(purpose) {
			return nil, fmt.Errorf("audience: unknown purpose %q", purpose)
		}
		if !consent.KnownChannel(channel) || channel == consent.Wildcard {
			return nil, fmt.Errorf("audience: unknown channel %q (want email, sms, push or webhook)", channel)
		}
	}
	return &Audience{Segment: seg, Purpose: purpose, Channel: channel}, nil
}

// Counts is the size of an audience and why people were removed.
type Counts struct {
	Count   int64    `json:"count"`
	Segment int64    `json:"segment"`
	Path    Path     `json:"path"`
	Removed *Removed `json:"removed,omitempty"`
}

// Removed counts removals per reason, each person once (RemovalOrder).
type Removed struct {
	Restricted  int64 `json:"restricted"`
	Objected    int64 `json:"objected"`
	NoConsent   int64 `json:"no_consent"`
	Unreachable int64 `json:"unreachable"`
	Suppressed  int64 `json:"suppressed"`
}

func (r *Removed) add(reason string) {
	switch removal(reason) {
	case RemovedRestricted:
		r.Restricted++
	case RemovedObjected:
		r.Objected++
	case RemovedNoConsent:
		r.NoConsent++
	case RemovedUnreachable:
		r.Unreachable++
	case RemovedSuppressed:
		r.Suppressed++
	}
}

// Total is the number of people removed.
func (r *Removed) Total() int64 {
	return r.Restricted + r.Objected + r.NoConsent + r.Unreachable + r.Suppressed
}

// request is the eligibility request the audience asks at instant now.
func (a *Audience) request(now time.Time) eligibility.Request {
	return eligibility.Request{Purpose: a.Purpose, Channel: a.Channel, At: now}
}

// classify returns a query yielding (id, removed, user_id, email, phone,
// timezone) for every profile of the segment's SQL candidates, removed
// being NULL for audience members. With a purpose, removed is the
// eligibility decision's person-level reason (engine.EligibilitySQL);
// without one, only restriction and objection (profiling) apply.
func (a *Audience) classify(ctx context.Context, st *engine.Store, now time.Time) (string, []any, error) {
	segJoins, args, where, wargs, err := a.Segment.plan.parts(ctx, st, now)
	if err != nil {
		return "", nil, err
	}
	// The segment is computed once (materialised) and the audience rules
	// join it. It carries the columns the rules and the member list read,
	// so the profiles table is scanned once, not joined back.
	q := "WITH seg AS MATERIALIZED (SELECT p.id, p.restricted, p.objected, p.user_id, p.email, p.phone, p.timezone FROM profiles p" +
		segJoins + " WHERE " + where + ")\n"
	args = append(args, wargs...)
	if a.Purpose == "" {
		// Without a purpose only profiling applies (eligibility.Profiled):
		// the reason is restricted or objected, in that order.
		q += "SELECT p.id, CASE WHEN p.restricted THEN 'restricted' WHEN p.objected THEN 'objected' END AS removed, p.user_id, p.email, p.phone, p.timezone FROM seg p"
		return q, args, nil
	}
	eq, eargs, err := st.EligibilitySQL(ctx, a.request(now), "seg")
	if err != nil {
		return "", nil, err
	}
	q += "SELECT p.id, e.reason AS removed, p.user_id, p.email, p.phone, p.timezone FROM seg p JOIN (" + eq + ") e ON e.profile_id = p.id"
	return q, append(args, eargs...), nil
}

// vmFilter runs the VM over the SQL candidates of a non-SQL segment and
// returns the matching ids.
func (a *Audience) vmFilter(ctx context.Context, st *engine.Store, now time.Time) (map[int64]bool, error) {
	set := map[int64]bool{}
	err := a.Segment.scan(ctx, st, now, func(snap *Snapshot, ok bool) error {
		if ok {
			set[snap.ID] = true
		}
		return nil
	})
	return set, err
}

// Count computes the audience size and the removals, in one set-based
// query (plus a VM pass over the candidates for non-SQL segments).
func (a *Audience) Count(ctx context.Context, st *engine.Store) (out Counts, err error) {
	err = a.bounded(ctx, func(ctx context.Context) error {
		out, err = a.count(ctx, st)
		return err
	})
	return out, err
}

// bounded runs fn under the segment's time limit (Limits.Timeout), turning
// a deadline into its *TimeLimitError.
func (a *Audience) bounded(ctx context.Context, fn func(context.Context) error) error {
	lim := a.Segment.Limits()
	ctx, cancel := lim.Context(ctx)
	defer cancel()
	return TimeLimitErr(ctx, lim, a.Segment.Path(), fn(ctx))
}

func (a *Audience) count(ctx context.Context, st *engine.Store) (Counts, error) {
	now := evalNow(st)
	q, args, err := a.classify(ctx, st, now)
	if err != nil {
		return Counts{}, err
	}
	out := Counts{Path: a.Segment.path, Removed: &Removed{}}
	if a.Segment.path == PathSQL {
		rows, err := st.DB().QueryContext(ctx, "SELECT removed, count(*) FROM ("+q+") GROUP BY removed", args...)
		if err != nil {
			return Counts{}, fmt.Errorf("audience query: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var reason sql.NullString
			var n int64
			if err := rows.Scan(&reason, &n); err != nil {
				return Counts{}, err
			}
			out.Segment += n
			if !reason.Valid {
				out.Count += n
			} else {
				for i := int64(0); i < n; i++ {
					out.Removed.add(reason.String)
				}
			}
		}
		if err := rows.Err(); err != nil {
			return Counts{}, err
		}
	} else {
		set, err := a.vmFilter(ctx, st, now)
		if err != nil {
			return Counts{}, err
		}
		rows, err := st.DB().QueryContext(ctx, "SELECT id, removed FROM ("+q+")", args...)
		if err != nil {
			return Counts{}, fmt.Errorf("audience query: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var reason sql.NullString
			if err := rows.Scan(&id, &reason); err != nil {
				return Counts{}, err
			}
			if !set[id] {
				continue
			}
			out.Segment++
			if reason.Valid {
				out.Removed.add(reason.String)
			} else {
				out.Count++
			}
		}
		if err := rows.Err(); err != nil {
			return Counts{}, err
		}
	}
	if a.Purpose == "" {
		// Only the restriction and the objection apply without a purpose.
		out.Removed = &Removed{Restricted: out.Removed.Restricted, Objected: out.Removed.Objected}
	}
	return out, nil
}

// IDs lists the audience's profile ids in ascending order.
func (a *Audience) IDs(ctx context.Context, st *engine.Store) ([]int64, error) {
	var ids []int64
	err := a.Records(ctx, st, func(rec arrow.Record) error {
		col := rec.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
		return nil
	})
	return ids, err
}

// MemberSchema is the Arrow schema of audience members.
var MemberSchema = arrow.NewSchema([]arrow.Field{ //nolint:gochecknoglobals // read-only after initialisation
	{Name: "profile_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "timezone", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Records streams the audience members as Arrow record batches (schema
// MemberSchema, ascending profile_id). For a SQL segment the batches come
// straight from DuckDB's Arrow interface; otherwise they are built from the
// VM-filtered candidates. A record is valid only during fn.
func (a *Audience) Records(ctx context.Context, st *engine.Store, fn func(arrow.Record) error) error {
	return a.bounded(ctx, func(ctx context.Context) error { return a.records(ctx, st, fn) })
}

func (a *Audience) records(ctx context.Context, st *engine.Store, fn func(arrow.Record) error) error {
	now := evalNow(st)
	q, args, err := a.classify(ctx, st, now)
	if err != nil {
		return err
	}
	if a.Segment.path == PathSQL {
		full := "SELECT id AS profile_id, user_id, email, phone, timezone FROM (" + q + ") WHERE removed IS NULL ORDER BY id"
		conn, err := st.DB().Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		err = dbtx.QueryArrow(ctx, conn, full, args, func(rdr array.RecordReader) error {
			for rdr.Next() {
				if err := fn(normaliseRecord(rdr.Record())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("audience query: %w", err)
		}
		return nil
	}
	set, err := a.vmFilter(ctx, st, now)
	if err != nil {
		return err
	}
	rows, err := st.DB().QueryContext(ctx, "SELECT id, user_id, email, phone, timezone FROM ("+q+") WHERE removed IS NULL ORDER BY id", args...)
	if err != nil {
		return fmt.Errorf("audience query: %w", err)
	}
	defer rows.Close()
	b := array.NewRecordBuilder(memory.DefaultAllocator, MemberSchema)
	defer b.Release()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		rec := b.NewRecord()
		defer rec.Release()
		n = 0
		return fn(rec)
	}
	for rows.Next() {
		var id int64
		var s [4]sql.NullString
		if err := rows.Scan(&id, &s[0], &s[1], &s[2], &s[3]); err != nil {
			return err
		}
		if !set[id] {
			continue
		}
		b.Field(0).(*array.Int64Builder).Append(id)
		for i := range s {
			sb := b.Field(i + 1).(*array.StringBuilder)
			if s[i].Valid {
				sb.Append(s[i].String)
			} else {
				sb.AppendNull()
			}
		}
		n++
		if n == 64*1024 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// normaliseRecord gives DuckDB's batches the declared schema (DuckDB
// exports VARCHAR as Arrow string already; the names match the query).
func normaliseRecord(rec arrow.Record) arrow.Record { return rec }

// Decision is the audience rule applied to one person.
type Decision struct {
	InSegment bool   `json:"in_segment"`
	Member    bool   `json:"member"`
	Removed   string `json:"removed,omitempty"`
	// Consent is the consent decision (when a purpose is set and the
	// person is in the segment and neither restricted nor objected).
	Consent *consent.Decision `json:"consent,omitempty"`
}

// Check applies the audience rule to one person, in Go, through the
// per-person form of the same decision (engine.EligiblePerson).
func (a *Audience) Check(ctx context.Context, st *engine.Store, id int64) (d Decision, err error) {
	err = a.bounded(ctx, func(ctx context.Context) error {
		d, err = a.check(ctx, st, id)
		return err
	})
	return d, err
}

func (a *Audience) check(ctx context.Context, st *engine.Store, id int64) (Decision, error) {
	in, err := a.Segment.Match(ctx, st, id)
	if err != nil {
		return Decision{}, err
	}
	if !in {
		return Decision{}, nil
	}
	d := Decision{InSegment: true}
	now := evalNow(st)
	if a.Purpose == "" {
		p, err := st.Profile(ctx, id)
		if err != nil {
			return Decision{}, err
		}
		switch {
		case p.Restricted:
			d.Removed = RemovedRestricted
		case p.Objected:
			d.Removed = RemovedObjected
		}
		d.Member = d.Removed == ""
		return d, nil
	}
	reason, _, err := st.EligiblePerson(ctx, a.request(now), id)
	if err != nil {
		return Decision{}, err
	}
	if reason != eligibility.Restricted && reason != eligibility.Objected && a.Purpose != consent.Transactional {
		cd, err := st.EvaluateConsent(ctx, id, a.Purpose, a.Channel, now)
		if err != nil {
			return Decision{}, err
		}
		d.Consent = &cd
	}
	d.Removed = removal(reason)
	d.Member = reason == ""
	return d, nil
}

// removal is the removal bucket of an eligibility reason: withdrawn and
// expired count as no_consent.
func removal(reason string) string {
	switch reason {
	case eligibility.Withdrawn, eligibility.Expired:
		return RemovedNoConsent
	}
	return reason
}
