package segments

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
)

// Event aggregates: count/any/all/none/one, sum, max/min/mean over events.

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
	c.p.aggs = append(c.p.aggs, aggregate{expr: expr, filter: filter})
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
