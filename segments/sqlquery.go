package segments

import (
	"context"
	"fmt"
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
	add := func(f frag) {
		b.WriteString(f.sql)
		for _, a := range f.args {
			jargs = append(jargs, a.value(now))
		}
	}
	if len(p.aggs) > 0 {
		if p.inner {
			b.WriteString(" JOIN (SELECT e.profile_id")
		} else {
			b.WriteString(" LEFT JOIN (SELECT e.profile_id")
		}
		for i, a := range p.aggs {
			b.WriteString(", ")
			add(a)
			fmt.Fprintf(&b, " AS a%d", i)
		}
		b.WriteString(" FROM events e")
		push := true
		for _, f := range p.filters {
			if f.sql == "TRUE" {
				push = false
			}
		}
		if push {
			// Every aggregate filters its events: only events passing some
			// filter need grouping (profiles without any keep NULL, which
			// the references coalesce).
			b.WriteString(" WHERE ")
			for i, f := range p.filters {
				if i > 0 {
					b.WriteString(" OR ")
				}
				add(f)
			}
		}
		b.WriteString(" GROUP BY e.profile_id")
		for i, h := range p.having {
			if i == 0 {
				b.WriteString(" HAVING ")
			} else {
				b.WriteString(" AND ")
			}
			add(h)
		}
		b.WriteString(") ev ON ev.profile_id = p.id")
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
	if len(p.aggs) > 0 {
		if p.inner {
			b.WriteString(" JOIN (SELECT e.profile_id")
		} else {
			b.WriteString(" LEFT JOIN (SELECT e.profile_id")
		}
		for i, a := range p.aggs {
			fmt.Fprintf(&b, ", %s AS a%d", a.sql, i)
		}
		b.WriteString(" FROM events e GROUP BY e.profile_id) ev ON ev.profile_id = p.id")
	}
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
