package segments

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
)

// ---------------------------------------------------------------------
// SQL fragments. Every value from the expression travels as a bind
// parameter; the only identifiers written into SQL are trait names taken
// from the schema (validated and quoted), never from the expression text.

type argKind uint8

const (
	argVal argKind = iota
	argNow
	argAgo
)

type sqlArg struct {
	kind argKind
	v    any
	d    time.Duration
}

func (a sqlArg) value(now time.Time) any {
	switch a.kind {
	case argNow:
		return now
	case argAgo:
		return now.Add(-a.d)
	}
	return a.v
}

type frag struct {
	sql  string
	args []sqlArg
}

func lit(s string) frag { return frag{sql: s} }

// cat concatenates fragments and plain strings in order.
func cat(parts ...any) frag {
	var b strings.Builder
	var args []sqlArg
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			b.WriteString(x)
		case frag:
			b.WriteString(x.sql)
			args = append(args, x.args...)
		case sx:
			b.WriteString(x.sql)
			args = append(args, x.args...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return frag{sql: b.String(), args: args}
}

func param(cast string, v any) frag {
	return frag{sql: "CAST(? AS " + cast + ")", args: []sqlArg{{kind: argVal, v: v}}}
}

type typ uint8

const (
	tBool typ = iota + 1
	tInt
	tFloat
	tString
	tTime
	tNil
	tJSON // a .properties.<key> value, typed by its context
	tList
)

func (t typ) numeric() bool { return t == tInt || t == tFloat }

// sx is a typed SQL value.
type sx struct {
	frag
	t        typ
	elem     typ // for tList
	nullable bool
	path     string // for tJSON: the JSON path
}

type consentRef struct{ purpose, channel string }

// aggregate is one per-profile aggregate over events: expr (count(*),
// sum(v), ...) over the events passing filter (TRUE for all events).
type aggregate struct {
	expr, filter frag
}

// plan is the SQL side of a segment: the WHERE condition over profiles p,
// the per-profile event aggregates (ev.aN), consent joins (cN) and saved
// segment joins (sN).
type plan struct {
	// where holds the compiled conjuncts except those in having.
	where    frag
	aggs     []aggregate
	consents []consentRef
	segs     []string
	// inner: some top-level conjunct is false for a profile without any
	// matching event, so the aggregate join may be an inner join.
	inner bool
	// having holds those conjuncts rewritten over the aggregate aliases:
	// they filter the grouped events before the inner join, which then
	// decides them, so where does not repeat them.
	having []frag
}

type notSQL struct{ why string }

func (e *notSQL) Error() string { return e.why }

type sqlc struct {
	seg    *Segment
	p      *plan
	inPred bool
}

func (c *sqlc) fail(format string, args ...any) {
	panic(&notSQL{why: fmt.Sprintf(format, args...)})
}

// buildPlan splits the expression into its top-level conjuncts, compiles
// those the SQL compiler covers and records why the others are left to the
// VM.
func (s *Segment) buildPlan() {
	var conj []ast.Node
	var split func(n ast.Node)
	split = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "and" || b.Operator == "&&") {
			split(b.Left)
			split(b.Right)
			return
		}
		conj = append(conj, n)
	}
	split(s.tree)
	p := &plan{}
	c := &sqlc{seg: s, p: p}
	var parts []frag
	compiled := 0
	for _, n := range conj {
		f, err := c.conjunct(n)
		if err != nil {
			line, col := position(s.src, n.Location().From)
			s.reasons = append(s.reasons, fmt.Sprintf("%d:%d: %s", line, col, err.Error()))
			continue
		}
		compiled++
		if needsEvent(n) {
			p.inner = true
			p.having = append(p.having, frag{sql: strings.ReplaceAll(f.sql, "ev.a", "a"), args: f.args})
			continue
		}
		parts = append(parts, f)
	}
	switch {
	case compiled == 0:
		s.path = PathVM
	case compiled < len(conj):
		s.path = PathHybrid
	default:
		s.path = PathSQL
	}
	if compiled == 0 {
		s.plan = nil
		return
	}
	p.where = lit("TRUE")
	if len(parts) > 0 {
		p.where = joinFrags(parts, " AND ")
	}
	s.plan = p
}

func (c *sqlc) conjunct(n ast.Node) (f frag, err error) {
	na, nc, ns := len(c.p.aggs), len(c.p.consents), len(c.p.segs)
	defer func() {
		if r := recover(); r != nil {
			ns2, ok := r.(*notSQL)
			if !ok {
				ns2 = &notSQL{why: fmt.Sprint(r)}
			}
			c.p.aggs = c.p.aggs[:na]
			c.p.consents, c.p.segs = c.p.consents[:nc], c.p.segs[:ns]
			c.inPred = false
			err = ns2
		}
	}()
	return c.cond(n, true), nil
}

// needsEvent recognises conjuncts that are false when a profile has no
// event passing an aggregate's filter: any(...), one(...), and count(...) or
// len(events|filter(...)) compared with an integer so that 0 fails.
func needsEvent(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.BuiltinNode:
		return (x.Name == "any" || x.Name == "one") && len(x.Arguments) == 2
	case *ast.BinaryNode:
		b, ok := x.Left.(*ast.BuiltinNode)
		if !ok || !(b.Name == "count" && len(b.Arguments) == 2 || b.Name == "len" && len(b.Arguments) == 1 && isEventsSource(b.Arguments[0])) {
			return false
		}
		k, ok := x.Right.(*ast.IntegerNode)
		if !ok {
			return false
		}
		switch x.Operator {
		case ">=", "==":
			return k.Value >= 1
		case ">":
			return k.Value >= 0
		}
	}
	return false
}

func isEventsSource(n ast.Node) bool {
	if id, ok := n.(*ast.IdentifierNode); ok {
		return id.Value == "events"
	}
	return isFilter(n)
}
