package segments

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/marcboeker/go-duckdb"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// Removal reasons, in the order they are applied: a person removed for an
// earlier reason is not counted again for a later one, so the counts add
// up to the segment size minus the audience size.
const (
	RemovedRestricted  = "restricted"  // processing restricted: excluded from everything
	RemovedObjected    = "objected"    // objected to marketing (any purpose but transactional)
	RemovedNoConsent   = "no_consent"  // consent.Evaluate is not granted
	RemovedUnreachable = "unreachable" // no address on the channel
	RemovedSuppressed  = "suppressed"  // every address on the channel is suppressed
)

// RemovalOrder lists the removal reasons in the order they are applied.
func RemovalOrder() []string {
	return []string{RemovedRestricted, RemovedObjected, RemovedNoConsent, RemovedUnreachable, RemovedSuppressed}
}

// Audience is a segment restricted to the people who may be contacted for
// a purpose on a channel (DESIGN §4):
//
//	segment ∧ consent granted ∧ reachable ∧ not suppressed ∧ not restricted
//	∧ (purpose = transactional ∨ not objected)
//
// Reachability: email needs profiles.email, sms profiles.phone, push at
// least one device_token identity; webhook needs no address and is always
// reachable (and never suppressed). Suppression is checked on the
// address's keyed hash: for email and sms the profile's address, for push
// a person is suppressed when every device token is.
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
	switch reason {
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

// classify returns a query yielding (id, removed, user_id, email, phone,
// timezone) for every profile of the segment's SQL candidates, removed
// being NULL for audience members.
func (a *Audience) classify(ctx context.Context, st *engine.Store, now time.Time) (string, []any, error) {
	segJoins, args, where, wargs, err := a.Segment.plan.parts(ctx, st, now)
	if err != nil {
		return "", nil, err
	}
	var joins strings.Builder
	var jargs []any
	cases := []string{"WHEN p.restricted THEN 'restricted'"}
	if a.Purpose != "transactional" {
		// An objection covers marketing and profiling; a list of segment
		// members for no stated purpose is profiling.
		cases = append(cases, "WHEN p.objected THEN 'objected'")
	}
	if a.Purpose != "" {
		// engine.ConsentGrantSQL validates and picks the relation (the
		// current-state table, or the ledger when entries lie after now);
		// the same rule (consent.GrantSQL) then runs over that relation
		// restricted to the segment's members, so only they are grouped.
		gq, gargs, err := st.ConsentGrantSQL(ctx, a.Purpose, a.Channel, now)
		if err != nil {
			return "", nil, err
		}
		rel := "consent_state"
		if strings.Contains(gq, "consent_ledger") {
			rel = "consent_ledger"
		}
		if q2, a2, err := consent.GrantSQL(st.Policy(), "(SELECT * FROM "+rel+" WHERE profile_id IN (SELECT id FROM seg)) AS "+rel, a.Purpose, a.Channel, now.UTC()); err == nil {
			gq, gargs = q2, a2
		}
		fmt.Fprintf(&joins, " LEFT JOIN (%s) g ON g.profile_id = p.id", gq)
		jargs = append(jargs, gargs...)
		cases = append(cases, "WHEN NOT COALESCE(g.granted, FALSE) THEN 'no_consent'")
		switch a.Channel {
		case "email", "sms":
			col, kind := "email", engine.KindEmail
			if a.Channel == "sms" {
				col, kind = "phone", engine.KindPhone
			}
			joins.WriteString(` LEFT JOIN (SELECT DISTINCT i.profile_id, i.value FROM identities i
  JOIN suppressions x ON x.addr_hash = i.value_hash WHERE i.kind = ? AND i.profile_id IN (SELECT id FROM seg)) r ON r.profile_id = p.id AND r.value = p.` + col)
			jargs = append(jargs, kind)
			cases = append(cases, "WHEN p."+col+" IS NULL THEN 'unreachable'", "WHEN r.profile_id IS NOT NULL THEN 'suppressed'")
		case "push":
			joins.WriteString(` LEFT JOIN (SELECT i.profile_id, count(*) AS n, count(*) FILTER (WHERE x.addr_hash IS NULL) AS ok
  FROM identities i LEFT JOIN (SELECT DISTINCT addr_hash FROM suppressions) x ON x.addr_hash = i.value_hash
  WHERE i.kind = ? AND i.profile_id IN (SELECT id FROM seg) GROUP BY i.profile_id) r ON r.profile_id = p.id`)
			jargs = append(jargs, engine.KindDeviceToken)
			cases = append(cases, "WHEN r.n IS NULL THEN 'unreachable'", "WHEN r.ok = 0 THEN 'suppressed'")
		case "webhook":
			// Reachable by definition: the webhook carries no address.
		}
	}
	// The segment is computed once (materialised) and the audience rules
	// join it.
	// It carries the columns the rules and the member list read, so the
	// profiles table is scanned once, not joined back.
	q := "WITH seg AS MATERIALIZED (SELECT p.id, p.restricted, p.objected, p.user_id, p.email, p.phone, p.timezone FROM profiles p" +
		segJoins + " WHERE " + where + ")\n" +
		"SELECT p.id, CASE " + strings.Join(cases, " ") + " END AS removed, p.user_id, p.email, p.phone, p.timezone\n" +
		"FROM seg p" + joins.String()
	return q, append(append(args, wargs...), jargs...), nil
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
func (a *Audience) Count(ctx context.Context, st *engine.Store) (Counts, error) {
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
var MemberSchema = arrow.NewSchema([]arrow.Field{
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
		return conn.Raw(func(dc any) error {
			ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
			if err != nil {
				return err
			}
			rdr, err := ar.QueryContext(ctx, full, args...)
			if err != nil {
				return fmt.Errorf("audience query: %w", err)
			}
			defer rdr.Release()
			for rdr.Next() {
				rec := rdr.Record()
				if err := fn(normaliseRecord(rec)); err != nil {
					return err
				}
			}
			return rdr.Err()
		})
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
// per-person engine API: the same rule as the bulk query.
func (a *Audience) Check(ctx context.Context, st *engine.Store, id int64) (Decision, error) {
	in, err := a.Segment.Match(ctx, st, id)
	if err != nil {
		return Decision{}, err
	}
	if !in {
		return Decision{}, nil
	}
	d := Decision{InSegment: true}
	p, err := st.Profile(ctx, id)
	if err != nil {
		return Decision{}, err
	}
	switch {
	case p.Restricted:
		d.Removed = RemovedRestricted
		return d, nil
	case p.Objected && a.Purpose != "transactional":
		d.Removed = RemovedObjected
		return d, nil
	case a.Purpose == "":
		d.Member = true
		return d, nil
	}
	cd, err := st.EvaluateConsent(ctx, id, a.Purpose, a.Channel, evalNow(st))
	if err != nil {
		return Decision{}, err
	}
	d.Consent = &cd
	if !cd.Granted {
		d.Removed = RemovedNoConsent
		return d, nil
	}
	reason, err := reachability(ctx, st, p, a.Channel)
	if err != nil {
		return Decision{}, err
	}
	d.Removed = reason
	d.Member = reason == ""
	return d, nil
}

func reachability(ctx context.Context, st *engine.Store, p engine.Profile, channel string) (string, error) {
	var addrs []string
	var kind string
	switch channel {
	case "webhook":
		return "", nil
	case "email":
		kind = engine.KindEmail
		if p.Email != "" {
			addrs = []string{p.Email}
		}
	case "sms":
		kind = engine.KindPhone
		if p.Phone != "" {
			addrs = []string{p.Phone}
		}
	case "push":
		kind = engine.KindDeviceToken
		ids, err := st.Identities(ctx, p.ID)
		if err != nil {
			return "", err
		}
		for _, i := range ids {
			if i.Kind == engine.KindDeviceToken {
				addrs = append(addrs, i.Value)
			}
		}
	}
	if len(addrs) == 0 {
		return RemovedUnreachable, nil
	}
	for _, addr := range addrs {
		h := st.HashIdentifier(kind, addr)
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE addr_hash = ?`, h).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return "", nil
		}
	}
	return RemovedSuppressed, nil
}
