package templates

import (
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// Fields are the names a template may refer to.
type Fields struct {
	// Traits is the trait schema (every trait name a profile may have,
	// identity columns such as email and phone included).
	Traits []string
	// Payload lists the entry payload keys the journey provides.
	Payload []string
}

// Root field names always available to templates.
var rootFields = []string{"traits", "payload", "profile_id", "unsubscribe_url", "preferences_url", "timezone", "now", "journey", "step"} //nolint:gochecknoglobals // read-only after initialisation

type fieldRef struct {
	part, file string
	path       []string
	href       bool // directly inside an href="..." attribute value
}

var hrefRE = regexp.MustCompile(`(?i)href\s*=\s*["']?\s*$`)

func collectRefs(part, file string, t *template.Template) []fieldRef {
	var out []fieldRef
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		c := refCollector{part: part, file: file}
		c.list(tt.Tree.Root, true)
		out = append(out, c.refs...)
	}
	return out
}

type refCollector struct {
	part, file string
	refs       []fieldRef
}

func (c *refCollector) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	prev := ""
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			prev = string(x.Text)
			continue
		case *parse.ActionNode:
			c.pipe(x.Pipe, root, hrefRE.MatchString(prev))
		case *parse.IfNode:
			c.pipe(x.Pipe, root, false)
			c.list(x.List, root)
			c.list(x.ElseList, root)
		case *parse.RangeNode:
			c.pipe(x.Pipe, root, false)
			c.list(x.List, false)
			c.list(x.ElseList, root)
		case *parse.WithNode:
			c.pipe(x.Pipe, root, false)
			c.list(x.List, false)
			c.list(x.ElseList, root)
		case *parse.TemplateNode:
			c.pipe(x.Pipe, root, false)
		}
		prev = ""
	}
}

func (c *refCollector) pipe(p *parse.PipeNode, root, href bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			c.arg(a, root, href)
		}
	}
}

func (c *refCollector) arg(a parse.Node, root, href bool) {
	switch x := a.(type) {
	case *parse.FieldNode:
		if root {
			c.refs = append(c.refs, fieldRef{part: c.part, file: c.file, path: x.Ident, href: href})
		}
	case *parse.VariableNode:
		if len(x.Ident) > 1 && x.Ident[0] == "$" {
			c.refs = append(c.refs, fieldRef{part: c.part, file: c.file, path: x.Ident[1:], href: href})
		}
	case *parse.ChainNode:
		c.arg(x.Node, root, href)
	case *parse.PipeNode:
		c.pipe(x, root, href)
	}
}

func hasUnsubscribe(refs []fieldRef, part string, needHref bool) bool {
	for _, r := range refs {
		if r.part == part && len(r.path) == 1 && r.path[0] == "unsubscribe_url" && (r.href || !needHref) {
			return true
		}
	}
	return false
}

// References returns the trait names and payload keys the template uses
// (sorted, deduplicated), for journey validation.
func (t *Template) References() (traits, payload []string) {
	for _, r := range t.refs {
		if len(r.path) < 2 {
			continue
		}
		switch r.path[0] {
		case "traits":
			traits = append(traits, r.path[1])
		case "payload":
			payload = append(payload, r.path[1])
		}
	}
	sort.Strings(traits)
	sort.Strings(payload)
	return slices.Compact(traits), slices.Compact(payload)
}

// Validate checks every field reference of t against f, and the structural
// rules checked at load time. All problems are returned, joined; each is an
// *Error wrapping ErrMissingField (or another sentinel).
func (t *Template) Validate(f Fields) error {
	var errs []error
	if err := t.check(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for _, r := range t.refs {
		p := "." + strings.Join(r.path, ".")
		problem := ""
		switch {
		case !slices.Contains(rootFields, r.path[0]):
			problem = "no such field (use .traits." + r.path[0] + " for a trait)"
		case r.path[0] == "traits" && len(r.path) > 1 && !slices.Contains(f.Traits, r.path[1]):
			problem = "no such trait"
		case r.path[0] == "payload" && len(r.path) > 1 && !slices.Contains(f.Payload, r.path[1]):
			problem = "the journey's payload has no such key"
		}
		if problem == "" || seen[r.file+p] {
			continue
		}
		seen[r.file+p] = true
		errs = append(errs, &Error{Template: t.Name, File: r.file, Kind: ErrMissingField, Detail: p + ": " + problem})
	}
	return errors.Join(errs...)
}
