package segments

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/bucket"
	"github.com/tactcdp/tact/engine/duration"
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

// plan is the SQL side of a segment: the WHERE condition over profiles p,
// the per-profile event aggregates (ev.aN), consent joins (cN) and saved
// segment joins (sN).
type plan struct {
	where    frag
	aggs     []frag
	filters  []frag // each aggregate's event filter, for pushdown
	consents []consentRef
	segs     []string
	// inner: some top-level conjunct is false for a profile without any
	// matching event, so the aggregate join may be an inner join.
	inner bool
	// having holds those conjuncts rewritten over the aggregate aliases:
	// they filter the grouped events before the join.
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
	for _, n := range conj {
		f, err := c.conjunct(n)
		if err != nil {
			line, col := position(s.src, n.Location().From)
			s.reasons = append(s.reasons, fmt.Sprintf("%d:%d: %s", line, col, err.Error()))
			continue
		}
		parts = append(parts, f)
		if needsEvent(n) {
			p.inner = true
			p.having = append(p.having, frag{sql: strings.ReplaceAll(f.sql, "ev.a", "a"), args: f.args})
		}
	}
	switch {
	case len(parts) == 0:
		s.path = PathVM
	case len(parts) < len(conj):
		s.path = PathHybrid
	default:
		s.path = PathSQL
	}
	if len(parts) == 0 {
		s.plan = nil
		return
	}
	w := parts[0]
	for _, f := range parts[1:] {
		w = cat(w, " AND ", f)
	}
	p.where = w
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
			c.p.aggs, c.p.filters = c.p.aggs[:na], c.p.filters[:na]
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

// cond compiles a condition. With pos (a positive context: only AND/OR
// above it up to a WHERE or FILTER) NULL may stand for false; otherwise the
// result is exactly TRUE or FALSE.
func (c *sqlc) cond(n ast.Node, pos bool) frag {
	switch x := n.(type) {
	case *ast.BoolNode:
		if x.Value {
			return lit("TRUE")
		}
		return lit("FALSE")
	case *ast.UnaryNode:
		if x.Operator == "not" || x.Operator == "!" {
			return cat("(NOT ", c.cond(x.Node, false), ")")
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "and", "&&":
			return cat("(", c.cond(x.Left, pos), " AND ", c.cond(x.Right, pos), ")")
		case "or", "||":
			return cat("(", c.cond(x.Left, pos), " OR ", c.cond(x.Right, pos), ")")
		case "==", "!=", "<", "<=", ">", ">=", "in", "contains", "startsWith", "endsWith", "matches":
			return c.compare(x, pos)
		}
	}
	v := c.val(n)
	switch v.t {
	case tBool:
		if v.nullable && !pos {
			return cat("COALESCE(", v, ", FALSE)")
		}
		return v.frag
	case tJSON:
		return cat("COALESCE(", c.jsonAs(v, tBool), ", FALSE)")
	}
	c.fail("a %s value used as a condition", describeTyp(v.t))
	return frag{}
}

func describeTyp(t typ) string {
	return map[typ]string{tBool: "boolean", tInt: "integer", tFloat: "float", tString: "string", tTime: "timestamp", tNil: "nil", tJSON: "event property", tList: "list"}[t]
}

func strict(f frag, nullable, pos bool) frag {
	if nullable && !pos {
		return cat("COALESCE(", f, ", FALSE)")
	}
	return f
}

// unify types two operands of a comparison or a coalesce, resolving event
// properties against the other side.
func (c *sqlc) unify(l, r sx) (sx, sx) {
	if l.t == tJSON && r.t == tJSON {
		c.fail("comparing two event properties is evaluated on the VM")
	}
	if l.t == tJSON && r.t != tNil {
		l = c.typedJSON(l, r.t)
	}
	if r.t == tJSON && l.t != tNil {
		r = c.typedJSON(r, l.t)
	}
	return l, r
}

func (c *sqlc) typedJSON(v sx, want typ) sx {
	switch want {
	case tInt, tFloat:
		want = tFloat
	case tString, tBool:
	default:
		c.fail("event property compared with a %s is evaluated on the VM", describeTyp(want))
	}
	return sx{frag: c.jsonAs(v, want), t: want, nullable: true}
}

func compatible(a, b typ) bool {
	return a == b || (a.numeric() && b.numeric())
}

var cmpSQL = map[string]string{"<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (c *sqlc) compare(x *ast.BinaryNode, pos bool) frag {
	switch x.Operator {
	case "in":
		return c.in(x, pos)
	case "matches":
		l := c.val(x.Left)
		if l.t == tJSON {
			l = c.typedJSON(l, tString)
		}
		re, ok := x.Right.(*ast.StringNode)
		if !ok || l.t != tString {
			c.fail("matches needs a string and a literal pattern")
		}
		return strict(cat("regexp_matches(", l, ", ", param("VARCHAR", re.Value), ")"), l.nullable, pos)
	}
	l, r := c.unify(c.val(x.Left), c.val(x.Right))
	switch x.Operator {
	case "contains", "startsWith", "endsWith":
		if l.t != tString || r.t != tString {
			c.fail("%s needs two strings", x.Operator)
		}
		fn := map[string]string{"contains": "contains", "startsWith": "starts_with", "endsWith": "ends_with"}[x.Operator]
		return strict(cat(fn, "(", l, ", ", r, ")"), l.nullable || r.nullable, pos)
	case "==", "!=":
		eq := x.Operator == "=="
		if l.t == tNil && r.t == tNil {
			if eq {
				return lit("TRUE")
			}
			return lit("FALSE")
		}
		if r.t == tNil {
			l, r = r, l
		}
		if l.t == tNil {
			if r.t == tJSON {
				isnull := cat("(json_type(e.properties, ", param("VARCHAR", r.path), ") IS NULL OR json_type(e.properties, ", param("VARCHAR", r.path), ") = 'NULL')")
				if eq {
					return isnull
				}
				return cat("(NOT ", isnull, ")")
			}
			if !r.nullable {
				if eq {
					return lit("FALSE")
				}
				return lit("TRUE")
			}
			if eq {
				return cat("(", r, " IS NULL)")
			}
			return cat("(", r, " IS NOT NULL)")
		}
		if !compatible(l.t, r.t) || l.t == tList {
			c.fail("comparing a %s with a %s is evaluated on the VM", describeTyp(l.t), describeTyp(r.t))
		}
		if !l.nullable && !r.nullable {
			if eq {
				return cat("(", l, " = ", r, ")")
			}
			return cat("(", l, " <> ", r, ")")
		}
		if eq {
			if pos && (!l.nullable || !r.nullable) {
				return cat("(", l, " = ", r, ")")
			}
			return cat("(", l, " IS NOT DISTINCT FROM ", r, ")")
		}
		return cat("(", l, " IS DISTINCT FROM ", r, ")")
	default:
		op := cmpSQL[x.Operator]
		if l.t == tNil || r.t == tNil {
			return lit("FALSE")
		}
		if !compatible(l.t, r.t) || !(l.t.numeric() || l.t == tString || l.t == tTime) {
			c.fail("ordering a %s and a %s is evaluated on the VM", describeTyp(l.t), describeTyp(r.t))
		}
		return strict(cat("(", l, " "+op+" ", r, ")"), l.nullable || r.nullable, pos)
	}
}

func (c *sqlc) in(x *ast.BinaryNode, pos bool) frag {
	l := c.val(x.Left)
	switch r := x.Right.(type) {
	case *ast.ArrayNode:
		var elems []sx
		hasNil := false
		for _, n := range r.Nodes {
			switch n.(type) {
			case *ast.NilNode:
				hasNil = true
			case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
				elems = append(elems, c.val(n))
			default:
				c.fail("`in` over a list that is not all literals is evaluated on the VM")
			}
		}
		if len(elems) > 0 {
			et := elems[0].t
			for _, e := range elems {
				if !compatible(e.t, et) {
					c.fail("`in` over a list of mixed types is evaluated on the VM")
				}
				if e.t == tFloat {
					et = tFloat
				}
			}
			if l.t == tJSON {
				l = c.typedJSON(l, et)
			}
			if !compatible(l.t, et) {
				// expr compares with ==, which is false across types.
				if hasNil {
					return c.isNil(l)
				}
				return lit("FALSE")
			}
		}
		if l.t == tJSON && hasNil {
			return c.isNil(l)
		}
		var list frag
		for i, e := range elems {
			if i > 0 {
				list = cat(list, ", ")
			}
			list = cat(list, e)
		}
		var f frag
		if len(elems) == 0 {
			f = lit("FALSE")
		} else {
			f = strict(cat("(", l, " IN (", list, "))"), l.nullable, pos)
		}
		if hasNil && l.nullable {
			f = cat("(", c.isNil(l), " OR ", f, ")")
		} else if hasNil && l.t == tNil {
			f = lit("TRUE")
		}
		return f
	default:
		rv := c.val(x.Right)
		if rv.t != tList {
			c.fail("`in` over a non-list is evaluated on the VM")
		}
		if l.t == tJSON {
			l = c.typedJSON(l, rv.elem)
		}
		if l.nullable || l.t == tNil {
			c.fail("`in` with a possibly missing left side over a list trait is evaluated on the VM")
		}
		if !compatible(l.t, rv.elem) {
			return lit("FALSE")
		}
		return strict(cat("list_contains(", rv, ", ", l, ")"), true, pos)
	}
}

func (c *sqlc) isNil(v sx) frag {
	if v.t == tJSON {
		return cat("(json_type(e.properties, ", param("VARCHAR", v.path), ") IS NULL OR json_type(e.properties, ", param("VARCHAR", v.path), ") = 'NULL')")
	}
	if !v.nullable {
		return lit("FALSE")
	}
	return cat("(", v, " IS NULL)")
}

func (c *sqlc) jsonAs(v sx, t typ) frag {
	p := func() frag { return param("VARCHAR", v.path) }
	switch t {
	case tString:
		return cat("(CASE WHEN json_type(e.properties, ", p(), ") = 'VARCHAR' THEN json_extract_string(e.properties, ", p(), ") END)")
	case tFloat:
		return cat("(CASE WHEN json_type(e.properties, ", p(), ") IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') THEN CAST(json_extract_string(e.properties, ", p(), ") AS DOUBLE) END)")
	case tBool:
		return cat("(CASE WHEN json_type(e.properties, ", p(), ") = 'BOOLEAN' THEN CAST(json_extract_string(e.properties, ", p(), ") AS BOOLEAN) END)")
	}
	c.fail("event property as %s", describeTyp(t))
	return frag{}
}

var propKeyRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlType(t engine.TraitType) (typ, typ) {
	switch t {
	case engine.TypeString:
		return tString, 0
	case engine.TypeInt:
		return tInt, 0
	case engine.TypeFloat:
		return tFloat, 0
	case engine.TypeBool:
		return tBool, 0
	case engine.TypeTimestamp:
		return tTime, 0
	case engine.TypeStringList:
		return tList, tString
	case engine.TypeIntList:
		return tList, tInt
	case engine.TypeFloatList:
		return tList, tFloat
	case engine.TypeBoolList:
		return tList, tBool
	}
	return 0, 0
}

func (c *sqlc) num(v sx) sx {
	if v.t == tJSON {
		return c.typedJSON(v, tFloat)
	}
	if !v.t.numeric() {
		c.fail("arithmetic on a %s is evaluated on the VM", describeTyp(v.t))
	}
	return v
}

func (c *sqlc) val(n ast.Node) sx {
	switch x := n.(type) {
	case *ast.NilNode:
		return sx{frag: lit("NULL"), t: tNil, nullable: true}
	case *ast.IntegerNode:
		return sx{frag: param("BIGINT", int64(x.Value)), t: tInt}
	case *ast.FloatNode:
		return sx{frag: param("DOUBLE", x.Value), t: tFloat}
	case *ast.StringNode:
		return sx{frag: param("VARCHAR", x.Value), t: tString}
	case *ast.BoolNode:
		if x.Value {
			return sx{frag: lit("TRUE"), t: tBool}
		}
		return sx{frag: lit("FALSE"), t: tBool}
	case *ast.IdentifierNode:
		if (c.seg.journey && contains(journeyNames, x.Value)) || (c.seg.event && contains(eventNames, x.Value)) {
			c.fail("%s holds per journey instance and is evaluated on the VM", x.Value)
		}
		if c.inPred {
			c.fail("a profile field inside an events predicate is evaluated on the VM")
		}
		if contains(c.seg.unknown, x.Value) {
			c.fail("%s is not a known trait (missing for everyone) and is evaluated on the VM", x.Value)
		}
		if contains(systemFields, x.Value) {
			return sx{frag: lit("p." + x.Value), t: tString, nullable: true}
		}
		if tt, ok := c.seg.traits[x.Value]; ok {
			t, e := sqlType(tt)
			return sx{frag: lit("p." + quoteIdent(x.Value)), t: t, elem: e, nullable: true}
		}
		c.fail("%s is only supported inside an aggregate", x.Value)
	case *ast.MemberNode:
		return c.member(x)
	case *ast.UnaryNode:
		switch x.Operator {
		case "not", "!":
			return sx{frag: c.cond(n, false), t: tBool}
		case "+":
			return c.num(c.val(x.Node))
		case "-":
			v := c.num(c.val(x.Node))
			if v.t == tInt {
				return sx{frag: cat("COALESCE(TRY_CAST(-CAST(", v, " AS HUGEINT) AS BIGINT), NULL)"), t: tInt, nullable: true}
			}
			return sx{frag: cat("(-", v, ")"), t: tFloat, nullable: v.nullable}
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "and", "&&", "or", "||", "==", "!=", "<", "<=", ">", ">=", "in", "contains", "startsWith", "endsWith", "matches":
			return sx{frag: c.cond(n, false), t: tBool}
		case "+", "-", "*", "/", "%":
			return c.arith(x)
		case "??":
			l, r := c.unify(c.val(x.Left), c.val(x.Right))
			if l.t == tNil {
				return r
			}
			if r.t == tNil {
				return l
			}
			if !compatible(l.t, r.t) || l.t == tList {
				c.fail("?? across types is evaluated on the VM")
			}
			t := l.t
			if t != r.t {
				t = tFloat
			}
			return sx{frag: cat("COALESCE(", l, ", ", r, ")"), t: t, nullable: l.nullable && r.nullable}
		}
		c.fail("operator %s is evaluated on the VM", x.Operator)
	case *ast.ConditionalNode:
		cond := c.cond(x.Cond, true)
		a, b := c.unify(c.val(x.Exp1), c.val(x.Exp2))
		t := a.t
		switch {
		case a.t == tNil:
			t = b.t
		case b.t == tNil:
		case compatible(a.t, b.t) && a.t != tList:
			if a.t != b.t {
				t = tFloat
			}
		default:
			c.fail("a conditional with branches of different types is evaluated on the VM")
		}
		if t == tJSON || t == tList {
			c.fail("a conditional over %s values is evaluated on the VM", describeTyp(t))
		}
		return sx{frag: cat("(CASE WHEN ", cond, " THEN ", a, " ELSE ", b, " END)"), t: t, nullable: a.nullable || b.nullable}
	case *ast.BuiltinNode:
		return c.builtin(x)
	case *ast.CallNode:
		return c.call(x)
	}
	c.fail("%s is evaluated on the VM", nodeName(n))
	return sx{}
}

func nodeName(n ast.Node) string {
	s := fmt.Sprintf("%T", n)
	s = strings.TrimPrefix(s, "*ast.")
	return strings.TrimSuffix(s, "Node") + " expression"
}

func (c *sqlc) member(x *ast.MemberNode) sx {
	if !c.inPred {
		c.fail("member access outside an events predicate is evaluated on the VM")
	}
	prop, ok := x.Property.(*ast.StringNode)
	if !ok || x.Optional {
		c.fail("dynamic member access is evaluated on the VM")
	}
	switch inner := x.Node.(type) {
	case *ast.PointerNode:
		if inner.Name != "" {
			break
		}
		switch prop.Value {
		case "event":
			return sx{frag: lit("e.event"), t: tString}
		case "timestamp":
			return sx{frag: lit("e.ts"), t: tTime}
		}
	case *ast.MemberNode:
		if p, ok := inner.Node.(*ast.PointerNode); ok && p.Name == "" {
			if s, ok := inner.Property.(*ast.StringNode); ok && s.Value == "properties" && propKeyRE.MatchString(prop.Value) {
				return sx{t: tJSON, nullable: true, path: `$."` + prop.Value + `"`}
			}
		}
	}
	c.fail("this member access is evaluated on the VM")
	return sx{}
}

func (c *sqlc) arith(x *ast.BinaryNode) sx {
	l, r := c.val(x.Left), c.val(x.Right)
	if x.Operator == "+" && (l.t == tString || r.t == tString) {
		if l.t == tJSON {
			l = c.typedJSON(l, tString)
		}
		if r.t == tJSON {
			r = c.typedJSON(r, tString)
		}
		if l.t != tString || r.t != tString {
			c.fail("+ across types is evaluated on the VM")
		}
		return sx{frag: cat("(", l, " || ", r, ")"), t: tString, nullable: l.nullable || r.nullable}
	}
	l, r = c.num(l), c.num(r)
	nullable := l.nullable || r.nullable
	switch x.Operator {
	case "/":
		return sx{frag: cat("(CAST(", l, " AS DOUBLE) / NULLIF(CAST(", r, " AS DOUBLE), 0))"), t: tFloat, nullable: true}
	case "%":
		if l.t != tInt || r.t != tInt {
			c.fail("%% on floats is evaluated on the VM")
		}
		return sx{frag: cat("(", l, " % NULLIF(", r, ", 0))"), t: tInt, nullable: true}
	}
	op := x.Operator
	if l.t == tInt && r.t == tInt {
		// Overflow yields NULL on both paths (Go would wrap, DuckDB raise).
		// COALESCE(…, NULL) keeps DuckDB 1.1's optimiser from moving a
		// comparison through the TRY_CAST (which would lose the NULL).
		return sx{frag: cat("COALESCE(TRY_CAST(CAST(", l, " AS HUGEINT) "+op+" CAST(", r, " AS HUGEINT) AS BIGINT), NULL)"), t: tInt, nullable: true}
	}
	return sx{frag: cat("(CAST(", l, " AS DOUBLE) "+op+" CAST(", r, " AS DOUBLE))"), t: tFloat, nullable: nullable}
}

// eventSource recognises `events` and `filter(events, P)`, returning the
// event filter (TRUE for all events).
func (c *sqlc) eventSource(n ast.Node) frag {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		if x.Value == "events" && !c.inPred {
			return lit("TRUE")
		}
	case *ast.BuiltinNode:
		if x.Name == "filter" && len(x.Arguments) == 2 {
			f := c.eventSource(x.Arguments[0])
			p := c.pred(x.Arguments[1], true)
			if f.sql == "TRUE" {
				return p
			}
			return cat("(", f, " AND ", p, ")")
		}
	}
	c.fail("aggregates are compiled over `events` or `filter(events, ...)` only")
	return frag{}
}

func (c *sqlc) pred(n ast.Node, pos bool) frag {
	pn, ok := n.(*ast.PredicateNode)
	if !ok {
		c.fail("expected a predicate")
	}
	c.inPred = true
	defer func() { c.inPred = false }()
	return c.cond(pn.Node, pos)
}

func (c *sqlc) predVal(n ast.Node) sx {
	pn, ok := n.(*ast.PredicateNode)
	if !ok {
		c.fail("expected a predicate")
	}
	c.inPred = true
	defer func() { c.inPred = false }()
	return c.val(pn.Node)
}

// agg registers an aggregate over events with its filter and returns its
// column reference.
func (c *sqlc) agg(expr, filter frag) string {
	i := len(c.p.aggs)
	f := cat(expr, " FILTER (WHERE ", filter, ")")
	c.p.aggs = append(c.p.aggs, f)
	c.p.filters = append(c.p.filters, filter)
	return fmt.Sprintf("ev.a%d", i)
}

func (c *sqlc) builtin(x *ast.BuiltinNode) sx {
	if c.inPred {
		switch x.Name {
		case "count", "any", "all", "none", "one", "filter", "sum", "map", "max", "min", "mean":
			c.fail("nested aggregates are evaluated on the VM")
		}
	}
	one := func() sx {
		if len(x.Arguments) != 1 {
			c.fail("%s with %d arguments is evaluated on the VM", x.Name, len(x.Arguments))
		}
		return c.val(x.Arguments[0])
	}
	switch x.Name {
	case "count", "any", "all", "none", "one":
		if len(x.Arguments) != 2 {
			c.fail("%s without a predicate is evaluated on the VM", x.Name)
		}
		src := c.eventSource(x.Arguments[0])
		var ref string
		if x.Name == "all" {
			p := c.pred(x.Arguments[1], false)
			ref = c.agg(lit("count(*)"), and(src, cat("(NOT ", p, ")")))
		} else {
			p := c.pred(x.Arguments[1], true)
			ref = c.agg(lit("count(*)"), and(src, p))
		}
		cnt := "COALESCE(" + ref + ", 0)"
		switch x.Name {
		case "count":
			return sx{frag: lit(cnt), t: tInt}
		case "any":
			return sx{frag: lit("(" + cnt + " > 0)"), t: tBool}
		case "one":
			return sx{frag: lit("(" + cnt + " = 1)"), t: tBool}
		default:
			return sx{frag: lit("(" + cnt + " = 0)"), t: tBool}
		}
	case "len":
		if len(x.Arguments) == 1 {
			if id, ok := x.Arguments[0].(*ast.IdentifierNode); (ok && id.Value == "events") || isFilter(x.Arguments[0]) {
				src := c.eventSource(x.Arguments[0])
				return sx{frag: lit("COALESCE(" + c.agg(lit("count(*)"), src) + ", 0)"), t: tInt}
			}
		}
		v := one()
		if v.t == tJSON {
			c.fail("len of an event property is evaluated on the VM")
		}
		switch v.t {
		case tString:
			return sx{frag: cat("length(", v, ")"), t: tInt, nullable: v.nullable}
		case tList:
			return sx{frag: cat("len(", v, ")"), t: tInt, nullable: v.nullable}
		}
		c.fail("len of a %s is evaluated on the VM", describeTyp(v.t))
	case "sum":
		if len(x.Arguments) != 2 {
			c.fail("sum without a mapping predicate is evaluated on the VM")
		}
		src := c.eventSource(x.Arguments[0])
		v := c.num(c.predValJSON(x.Arguments[1]))
		t := v.t
		ref := c.agg(cat("sum(", v, ")"), src)
		return sx{frag: lit("COALESCE(" + ref + ", 0)"), t: t}
	case "max", "min", "mean":
		if len(x.Arguments) != 1 {
			c.fail("%s with several arguments is evaluated on the VM", x.Name)
		}
		m, ok := x.Arguments[0].(*ast.BuiltinNode)
		if !ok || m.Name != "map" || len(m.Arguments) != 2 {
			c.fail("%s is compiled over map(events, ...) only", x.Name)
		}
		src := c.eventSource(m.Arguments[0])
		v := c.predValJSON(m.Arguments[1])
		if v.t == tJSON {
			v = c.typedJSON(v, tFloat)
		}
		fn := map[string]string{"max": "max", "min": "min", "mean": "avg"}[x.Name]
		if !(v.t.numeric() || (v.t == tTime && x.Name != "mean")) {
			c.fail("%s over %s values is evaluated on the VM", x.Name, describeTyp(v.t))
		}
		t := v.t
		if x.Name == "mean" {
			t = tFloat
		}
		return sx{frag: lit(c.agg(cat(fn+"(", v, ")"), src)), t: t, nullable: true}
	case "lower", "upper":
		v := one()
		if v.t == tJSON {
			v = c.typedJSON(v, tString)
		}
		if v.t != tString {
			c.fail("%s of a %s is evaluated on the VM", x.Name, describeTyp(v.t))
		}
		return sx{frag: cat(x.Name+"(", v, ")"), t: tString, nullable: v.nullable}
	case "trim":
		v := one()
		if v.t == tJSON {
			v = c.typedJSON(v, tString)
		}
		if v.t != tString {
			c.fail("trim of a %s is evaluated on the VM", describeTyp(v.t))
		}
		return sx{frag: cat("trim(", v, ", ", param("VARCHAR", trimChars), ")"), t: tString, nullable: v.nullable}
	case "abs", "ceil", "floor", "round", "int", "float":
		v := c.num(one())
		switch {
		case x.Name == "float":
			return sx{frag: cat("CAST(", v, " AS DOUBLE)"), t: tFloat, nullable: v.nullable}
		case v.t == tInt && x.Name == "abs":
			return sx{frag: cat("COALESCE(TRY_CAST(abs(CAST(", v, " AS HUGEINT)) AS BIGINT), NULL)"), t: tInt, nullable: true}
		case v.t == tInt:
			return v
		case x.Name == "int":
			return sx{frag: cat("COALESCE(TRY_CAST(trunc(", v, ") AS BIGINT), NULL)"), t: tInt, nullable: true}
		default:
			return sx{frag: cat(x.Name+"(", v, ")"), t: tFloat, nullable: v.nullable}
		}
	}
	c.fail("builtin %s is evaluated on the VM", x.Name)
	return sx{}
}

func and(a, b frag) frag {
	if a.sql == "TRUE" {
		return b
	}
	return cat("(", a, " AND ", b, ")")
}

func isFilter(n ast.Node) bool {
	b, ok := n.(*ast.BuiltinNode)
	return ok && b.Name == "filter"
}

// predValJSON is predVal that keeps an event property untyped.
func (c *sqlc) predValJSON(n ast.Node) sx { return c.predVal(n) }

func (c *sqlc) call(x *ast.CallNode) sx {
	id, ok := x.Callee.(*ast.IdentifierNode)
	if !ok {
		c.fail("calls are evaluated on the VM")
	}
	str := func(i int) string {
		s, ok := x.Arguments[i].(*ast.StringNode)
		if !ok {
			c.fail("%s with a non-literal argument is evaluated on the VM", id.Value)
		}
		return s.Value
	}
	switch id.Value {
	case "now":
		return sx{frag: frag{sql: "CAST(? AS TIMESTAMP)", args: []sqlArg{{kind: argNow}}}, t: tTime}
	case "ago":
		d, err := duration.Parse(str(0))
		if err != nil {
			c.fail("ago: %v", err)
		}
		return sx{frag: frag{sql: "CAST(? AS TIMESTAMP)", args: []sqlArg{{kind: argAgo, d: d}}}, t: tTime}
	case "days_since":
		v := c.val(x.Arguments[0])
		if v.t != tTime {
			c.fail("days_since of a %s is evaluated on the VM", describeTyp(v.t))
		}
		return sx{frag: cat("((epoch_us(", frag{sql: "CAST(? AS TIMESTAMP)", args: []sqlArg{{kind: argNow}}}, ") - epoch_us(", v, ")) // 86400000000)"), t: tInt, nullable: v.nullable}
	}
	if c.inPred {
		c.fail("%s inside an events predicate is evaluated on the VM", id.Value)
	}
	switch id.Value {
	case "consented":
		ref := consentRef{purpose: str(0), channel: str(1)}
		i := len(c.p.consents)
		for j, r := range c.p.consents {
			if r == ref {
				i = j
			}
		}
		if i == len(c.p.consents) {
			c.p.consents = append(c.p.consents, ref)
		}
		return sx{frag: lit(fmt.Sprintf("COALESCE(c%d.granted, FALSE)", i)), t: tBool}
	case "in_segment":
		name := str(0)
		i := len(c.p.segs)
		for j, s := range c.p.segs {
			if s == name {
				i = j
			}
		}
		if i == len(c.p.segs) {
			c.p.segs = append(c.p.segs, name)
		}
		return sx{frag: lit(fmt.Sprintf("(s%d.profile_id IS NOT NULL)", i)), t: tBool}
	case "bucket":
		n, ok := x.Arguments[0].(*ast.IntegerNode)
		if !ok || n.Value <= 0 {
			c.fail("bucket with a non-literal argument is evaluated on the VM")
		}
		return sx{frag: frag{sql: bucket.SQL("p.id"), args: []sqlArg{{kind: argVal, v: int64(n.Value)}}}, t: tInt}
	}
	c.fail("function %s is evaluated on the VM", id.Value)
	return sx{}
}

// ---------------------------------------------------------------------
// Query assembly.

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
