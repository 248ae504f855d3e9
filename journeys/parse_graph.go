package journeys

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// graph checks targets, reachability and cycles without a wait.
func (p *parser) graph(s *Spec, stepsNode *yaml.Node) {
	s.buildIndex()
	node := func(i int) *yaml.Node { return stepsNode.Content[i] }
	check := func(i int, field, target string) {
		if target == "" || target == EndStep {
			return
		}
		if s.Step(target) == nil {
			p.addf(lookup(node(i), strings.Split(field, ".")...), fmt.Sprintf("steps[%d].%s", i, field), "no step with id %q", target)
		}
	}
	for i, st := range s.Steps {
		check(i, "next", st.Next)
		check(i, "wait.on_timeout", st.OnTimeout)
		check(i, "branch.else", st.Else)
		for j, a := range st.Branches {
			check(i, fmt.Sprintf("branch[%d].goto", j), a.Goto)
		}
		for j, a := range st.Split {
			check(i, fmt.Sprintf("split[%d].goto", j), a.Goto)
		}
	}
	// Reachability from the first step.
	seen := map[string]bool{}
	var stack []string
	if first := s.First(); first != "" {
		stack = append(stack, first)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] || s.Step(id) == nil {
			continue
		}
		seen[id] = true
		stack = append(stack, s.successors(id)...)
	}
	for i, st := range s.Steps {
		if st.ID != "" && !seen[st.ID] {
			p.addf(node(i), fmt.Sprintf("steps[%d]", i), "step %q is unreachable", st.ID)
		}
	}
	// A cycle through no wait step would loop forever within one tick.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var visit func(id string, path []string)
	reported := false
	visit = func(id string, path []string) {
		st := s.Step(id)
		if st == nil || st.Kind == StepWait || reported {
			return
		}
		switch color[id] {
		case grey:
			i := s.index[id]
			p.addf(node(i), fmt.Sprintf("steps[%d]", i), "cycle with no wait: %s", strings.Join(append(path, id), " → "))
			reported = true
			return
		case black:
			return
		}
		color[id] = grey
		for _, n := range s.successors(id) {
			visit(n, append(path, id))
		}
		color[id] = black
	}
	for _, st := range s.Steps {
		if st.ID != "" {
			visit(st.ID, nil)
		}
	}
}

// lookup finds the value node at a key path under n, or the deepest node
// found on the way (for positions).
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return n
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			return n
		}
	}
	return n
}

// successors lists every step id a person may go to from id.
func (s *Spec) successors(id string) []string {
	st := s.Step(id)
	if st == nil {
		return nil
	}
	var out []string
	add := func(t string) {
		if t != "" && t != EndStep {
			out = append(out, t)
		}
	}
	switch st.Kind {
	case StepExit:
		return nil
	case StepBranch:
		for _, a := range st.Branches {
			add(a.Goto)
		}
		if st.Else != "" {
			add(st.Else)
		} else {
			add(s.NextOf(id))
		}
		return out
	case StepSplit:
		for _, a := range st.Split {
			add(a.Goto)
		}
		return out
	case StepWait:
		if st.OnTimeout != "" {
			add(st.OnTimeout)
		}
	}
	add(s.NextOf(id))
	return out
}
