package segments

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
)

// Query assembly: the FROM clause of a plan with its joins and arguments.

// from builds "profiles p LEFT JOIN ... WHERE cond" with its arguments, at
// evaluation instant now. A nil plan selects every profile.
func (p *plan) from(ctx context.Context, st *engine.Store, now time.Time) (string, []any, error) {
	joins, jargs, where, wargs, err := p.parts(ctx, st, now)
	if err != nil {
		return "", nil, err
	}
	return "profiles p" + joins + " WHERE " + where, append(jargs, wargs...), nil
}

// parts returns the joins (to append after "FROM profiles p") and the WHERE
// condition separately, each with its arguments in text order, so callers
// may add joins of their own between them.
func (p *plan) parts(ctx context.Context, st *engine.Store, now time.Time) (joins string, jargs []any, where string, wargs []any, err error) {
	if p == nil {
		return "", nil, "TRUE", nil, nil
	}
	var b strings.Builder
	ev := p.eventsJoin()
	b.WriteString(ev.sql)
	for _, a := range ev.args {
		jargs = append(jargs, a.value(now))
	}
	for i, cr := range p.consents {
		q, qa, err := st.ConsentGrantSQL(ctx, cr.purpose, cr.channel, now)
		if err != nil {
			// Unknown purpose or channel: nobody is granted (fail closed),
			// exactly as consent.Evaluate decides.
			q, qa = "SELECT CAST(NULL AS BIGINT) AS profile_id, FALSE AS granted WHERE FALSE", nil
		}
		fmt.Fprintf(&b, " LEFT JOIN (%s) c%d ON c%d.profile_id = p.id", q, i, i)
		jargs = append(jargs, qa...)
	}
	for i, s := range p.segs {
		fmt.Fprintf(&b, " LEFT JOIN (SELECT DISTINCT profile_id FROM segment_members WHERE segment = ?) s%d ON s%d.profile_id = p.id", i, i)
		jargs = append(jargs, s)
	}
	for _, a := range p.where.args {
		wargs = append(wargs, a.value(now))
	}
	return b.String(), jargs, p.where.sql, wargs, nil
}

// describe renders the plan for `tact segment check`.
func (p *plan) describe() string {
	var b strings.Builder
	b.WriteString("FROM profiles p")
	b.WriteString(p.eventsJoin().sql)
	for i, cr := range p.consents {
		fmt.Fprintf(&b, " LEFT JOIN <consent %s/%s> c%d ON c%d.profile_id = p.id", cr.purpose, cr.channel, i, i)
	}
	for i := range p.segs {
		fmt.Fprintf(&b, " LEFT JOIN <segment_members ?> s%d ON s%d.profile_id = p.id", i, i)
	}
	b.WriteString(" WHERE ")
	b.WriteString(p.where.sql)
	return b.String()
}

// eventsJoin is the join of the per-profile event aggregates (empty without
// any): one pass over the events grouped by profile, shaped like the query
// one would write by hand. Only events passing some aggregate's filter are
// read (profiles without any keep NULL, which the references coalesce); an
// aggregate needs its own FILTER only when the aggregates filter
// differently; the conjuncts that need an event are decided in HAVING.
func (p *plan) eventsJoin() frag {
	if len(p.aggs) == 0 {
		return frag{}
	}
	filters := p.distinctFilters()
	push := true
	for _, f := range filters {
		if f.sql == "TRUE" {
			push = false
		}
	}
	join := " LEFT JOIN"
	if p.inner {
		join = " JOIN"
	}
	parts := []any{join + " (SELECT e.profile_id"}
	for i, a := range p.aggs {
		parts = append(parts, ", ", a.expr)
		if len(filters) > 1 && a.filter.sql != "TRUE" {
			parts = append(parts, " FILTER (WHERE ", a.filter, ")")
		}
		parts = append(parts, fmt.Sprintf(" AS a%d", i))
	}
	parts = append(parts, " FROM events e")
	if push {
		parts = append(parts, " WHERE ", joinFrags(filters, " OR "))
	}
	parts = append(parts, " GROUP BY e.profile_id")
	if len(p.having) > 0 {
		parts = append(parts, " HAVING ", joinFrags(p.having, " AND "))
	}
	parts = append(parts, ") ev ON ev.profile_id = p.id")
	return cat(parts...)
}

// joinFrags joins fragments with sep.
func joinFrags(fs []frag, sep string) frag {
	var out frag
	for i, f := range fs {
		if i > 0 {
			out = cat(out, sep)
		}
		out = cat(out, f)
	}
	return out
}

// distinctFilters lists the aggregates' event filters once each, in order.
func (p *plan) distinctFilters() []frag {
	var out []frag
	for _, a := range p.aggs {
		if !slices.ContainsFunc(out, func(f frag) bool { return sameFrag(f, a.filter) }) {
			out = append(out, a.filter)
		}
	}
	return out
}

// sameFrag reports whether two fragments are the same SQL with the same
// arguments (so the same condition at any instant).
func sameFrag(a, b frag) bool {
	return a.sql == b.sql && reflect.DeepEqual(a.args, b.args)
}
