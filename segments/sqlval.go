package segments

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/tactcdp/tact/engine/bucket"
	"github.com/tactcdp/tact/engine/duration"
)

// Values: literals, fields, members, arithmetic and the language's functions.

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
		i := indexOrAdd(&c.p.consents, consentRef{purpose: str(0), channel: str(1)})
		return sx{frag: lit(fmt.Sprintf("COALESCE(c%d.granted, FALSE)", i)), t: tBool}
	case "in_segment":
		i := indexOrAdd(&c.p.segs, str(0))
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

// indexOrAdd is v's index in *list, adding v at the end when absent: each
// distinct consent or segment reference gets one join.
func indexOrAdd[T consentRef | string](list *[]T, v T) int {
	if i := slices.Index(*list, v); i >= 0 {
		return i
	}
	*list = append(*list, v)
	return len(*list) - 1
}
