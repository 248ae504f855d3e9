package segments

import (
	"slices"

	"github.com/expr-lang/expr/ast"
)

// The nil-safe patch. expr's own operators raise errors on nil operands
// (`age > 30` with a missing age) where SQL yields NULL; the patch routes
// every such operation through a helper that returns false (comparisons)
// or nil (values), mirroring COALESCE(cmp, FALSE) and NULL propagation.

type nilSafe struct {
	// maps are the identifiers holding JSON objects read nil-safely
	// (payload; properties in event-entry filters).
	maps []string
}

// boolHelpers are the helpers that always return a bool.
var boolHelpers = []string{"_lt", "_le", "_gt", "_ge", "_contains", "_startsWith", "_endsWith", "_matches", "_in", "_eq", "_ne", "_truth"} //nolint:gochecknoglobals // read-only after initialisation

func call(name string, args ...ast.Node) ast.Node {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
}

var binaryHelpers = map[string]string{ //nolint:gochecknoglobals // read-only after initialisation
	"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge",
	"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod", "**": "_pow", "^": "_pow",
	"contains": "_contains", "startsWith": "_startsWith", "endsWith": "_endsWith", "matches": "_matches",
	"in": "_in", "==": "_eq", "!=": "_ne",
}

var unaryBuiltinHelpers = map[string]string{ //nolint:gochecknoglobals // read-only after initialisation
	"lower": "_lower", "upper": "_upper", "trim": "_trim", "len": "_len", "abs": "_abs",
	"ceil": "_ceil", "floor": "_floor", "round": "_round", "int": "_int", "float": "_float",
}

// truth wraps a node used as a condition so that nil reads as false.
func truth(n ast.Node) ast.Node {
	switch x := n.(type) {
	case *ast.BoolNode, *ast.UnaryNode, *ast.BuiltinNode:
		return n
	case *ast.BinaryNode:
		if x.Operator != "??" {
			return n
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (slices.Contains(boolHelpers, id.Value) || id.Value == "consented" || id.Value == "in_segment") {
			return n
		}
	}
	c := call("_truth", n)
	c.SetLocation(n.Location())
	return c
}

// nonNil reports whether a node can never evaluate to nil: literals, an
// event's .event and .timestamp, now(), ago(), bucket(), and the counting
// and quantifier builtins.
func nonNil(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return true
	case *ast.MemberNode:
		if _, ok := x.Node.(*ast.PointerNode); ok {
			if p, ok := x.Property.(*ast.StringNode); ok && (p.Value == "event" || p.Value == "timestamp") {
				return true
			}
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			switch id.Value {
			case "now", "ago", "bucket":
				return true
			}
		}
	case *ast.BuiltinNode:
		switch x.Name {
		case "count", "any", "all", "none", "one":
			return true
		}
	}
	return false
}

// jsonRooted reports whether a member access reads a JSON object binding
// (payload.a.b, payload["x"]) rather than an event inside a predicate.
func (p *nilSafe) jsonRooted(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return slices.Contains(p.maps, x.Value)
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		return ok && id.Value == "_fetch"
	}
	return false
}

func (p *nilSafe) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if p.jsonRooted(n.Node) {
			ast.Patch(node, call("_fetch", n.Node, n.Property))
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			n.Left, n.Right = truth(n.Left), truth(n.Right)
		case "==", "!=", "<", "<=", ">", ">=":
			// Two operands that are never nil keep expr's own (typed,
			// faster) operator: e.g. `.event == "x"`, `.timestamp > ago("1d")`.
			if nonNil(n.Left) && nonNil(n.Right) {
				return
			}
			ast.Patch(node, call(binaryHelpers[n.Operator], n.Left, n.Right))
		default:
			if h, ok := binaryHelpers[n.Operator]; ok {
				ast.Patch(node, call(h, n.Left, n.Right))
			}
		}
	case *ast.UnaryNode:
		switch n.Operator {
		case "not", "!":
			n.Node = truth(n.Node)
		case "-":
			ast.Patch(node, call("_neg", n.Node))
		}
	case *ast.ConditionalNode:
		n.Cond = truth(n.Cond)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "days_since" {
			ast.Patch(node, call("_days", call("now"), n.Arguments[0]))
		}
	case *ast.BuiltinNode:
		switch n.Name {
		case "all", "any", "none", "one", "filter", "count":
			if len(n.Arguments) == 2 {
				if pn, ok := n.Arguments[1].(*ast.PredicateNode); ok {
					pn.Node = truth(pn.Node)
				}
			}
		case "max", "min", "mean":
			ast.Patch(node, call("_"+n.Name, n.Arguments...))
		case "sum":
			if len(n.Arguments) == 2 {
				m := &ast.BuiltinNode{Name: "map", Arguments: n.Arguments}
				m.SetLocation(n.Location())
				ast.Patch(node, call("_sum", m))
			} else {
				ast.Patch(node, call("_sum", n.Arguments...))
			}
		default:
			if h, ok := unaryBuiltinHelpers[n.Name]; ok && len(n.Arguments) == 1 {
				ast.Patch(node, call(h, n.Arguments[0]))
			}
		}
	}
}
