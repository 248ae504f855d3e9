package segments

import (
	"regexp"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/tactcdp/tact/engine"
)

// Conditions: comparisons, membership and nil tests, two-valued.

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

var cmpSQL = map[string]string{"<": "<", "<=": "<=", ">": ">", ">=": ">="} //nolint:gochecknoglobals // read-only after initialisation

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
