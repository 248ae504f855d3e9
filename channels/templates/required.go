package templates

import (
	"slices"
	"strings"
	"text/template/parse"
)

// A template refuses to render for a person when a field it prints has no
// value for them and the template gives no default: "Your last order was
// on ." must never be sent. A field counts as printed when it appears in
// a printing action ({{ .traits.x }}, {{ date "date" .traits.x }}) whose
// pipeline has no `default`, outside an {{if}} or {{with}} that tests it.

// requiredFields returns the traits.* and payload.* paths the parse trees
// print without a default or a guard, sorted and without repeats.
func requiredFields(trees []*parse.Tree) []string {
	seen := map[string]bool{}
	for _, t := range trees {
		if t != nil && t.Root != nil {
			collectRequired(t.Root, nil, seen)
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func collectRequired(n parse.Node, guarded []string, out map[string]bool) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			collectRequired(c, guarded, out)
		}
	case *parse.ActionNode:
		if len(x.Pipe.Decl) > 0 || hasDefault(x.Pipe) {
			return
		}
		for _, p := range pipeFields(x.Pipe) {
			if !slices.Contains(guarded, p) {
				out[p] = true
			}
		}
	case *parse.IfNode:
		collectRequired(x.List, append(slices.Clone(guarded), pipeFields(x.Pipe)...), out)
		collectRequired(x.ElseList, guarded, out)
	case *parse.WithNode:
		// Inside {{with}} the dot is the tested value: its fields are not
		// the person's. The else branch keeps the outer dot.
		collectRequired(x.ElseList, guarded, out)
	case *parse.RangeNode:
		collectRequired(x.ElseList, guarded, out)
	}
}

// hasDefault reports whether a pipeline calls default anywhere.
func hasDefault(p *parse.PipeNode) bool {
	if p == nil {
		return false
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			switch y := a.(type) {
			case *parse.IdentifierNode:
				if y.Ident == "default" {
					return true
				}
			case *parse.PipeNode:
				if hasDefault(y) {
					return true
				}
			}
		}
	}
	return false
}

// pipeFields lists the person's fields (traits.x, payload.x, also through
// $) a pipeline reads.
func pipeFields(p *parse.PipeNode) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			var ident []string
			switch y := a.(type) {
			case *parse.FieldNode:
				ident = y.Ident
			case *parse.VariableNode:
				if len(y.Ident) > 0 && y.Ident[0] == "$" {
					ident = y.Ident[1:]
				}
			case *parse.PipeNode:
				out = append(out, pipeFields(y)...)
			}
			if len(ident) >= 2 && (ident[0] == "traits" || ident[0] == "payload") {
				out = append(out, strings.Join(ident, "."))
			}
		}
	}
	return out
}

// lookupPath reads a traits.* or payload.* path, split at its dots, from
// rendering data.
func lookupPath(data map[string]any, path []string) any {
	var cur any = data
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// Missing returns the fields the template prints without a default that
// have no value in d; Render refuses while it is not empty.
func (t *Template) Missing(d Data) ([]string, error) {
	c, err := t.compiledFor(d)
	if err != nil {
		return nil, err
	}
	return c.missing(d.toMap(c.loc, c.zone)), nil
}

func (c *compiled) missing(data map[string]any) []string {
	var out []string
	for i, p := range c.requiredPaths {
		if empty(lookupPath(data, p)) {
			out = append(out, c.required[i])
		}
	}
	return out
}
