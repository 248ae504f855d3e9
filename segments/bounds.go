package segments

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Size and boundedness checks that run before type checking.

// precheck applies the bounds that hold before parsing: not empty, at most
// MaxSourceLen bytes and MaxNodes nodes.
func precheck(src string, l Limits) error {
	if strings.TrimSpace(src) == "" {
		return &Error{Line: 1, Column: 1, Msg: "empty expression"}
	}
	if len(src) > l.MaxSourceLen {
		return &Error{Line: 1, Column: 1, cause: ErrTooLarge,
			Msg: fmt.Sprintf("expression is %d bytes long, more than the limit of %d", len(src), l.MaxSourceLen)}
	}
	return checkNodes(src, l.MaxNodes)
}

// undeclared lists the identifiers src reads that env does not know and
// that could name a trait: not called, not declared by let, not reserved
// ($, _ or a journey name), and with refuseTypos not close to a known
// name. A syntax error gives none (the checker reports it).
func undeclared(src string, env map[string]any, refuseTypos bool) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	callees, declared := map[ast.Node]bool{}, map[string]bool{}
	walk(tree.Node, func(n ast.Node) {
		switch x := n.(type) {
		case *ast.CallNode:
			callees[x.Callee] = true
		case *ast.VariableDeclaratorNode:
			declared[x.Name] = true
		}
	})
	var known []string
	if refuseTypos {
		for n := range env {
			known = append(known, n)
		}
	}
	var out []string
	walk(tree.Node, func(n ast.Node) {
		id, ok := n.(*ast.IdentifierNode)
		if !ok || callees[n] || declared[id.Value] || !traitIdentRE.MatchString(id.Value) || contains(journeyNames, id.Value) || contains(eventNames, id.Value) {
			return
		}
		if refuseTypos && len(closest(id.Value, known)) > 0 {
			return // left unknown: the checker says which name was meant
		}
		if _, ok := env[id.Value]; !ok && !contains(out, id.Value) {
			out = append(out, id.Value)
		}
	})
	sort.Strings(out)
	return out
}

// rangeRefusal explains why a..b is refused (ErrUnbounded).
const rangeRefusal = "ranges (a..b) are not supported: their size does not depend on the data, so they are refused rather than bounded"

// checkNodes refuses an expression with more than max AST nodes, naming
// the position of the first node past the bound. A syntax error is left
// to the checker, which reports it with its position.
func checkNodes(src string, max int) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	c := &nodeCounter{max: max}
	ast.Walk(&tree.Node, c)
	if c.n > max {
		line, col := position(src, c.at)
		return &Error{Line: line, Column: col, cause: ErrTooLarge,
			Msg: fmt.Sprintf("expression has %d nodes, more than the limit of %d", c.n, max)}
	}
	return nil
}

type nodeCounter struct {
	n, max, at int
}

func (c *nodeCounter) Visit(n *ast.Node) {
	c.n++
	if c.n == c.max+1 {
		c.at = (*n).Location().From
	}
}
