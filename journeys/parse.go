package journeys

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine/consent"
)

// Problem is one thing wrong with a journey file.
type Problem struct {
	// Path locates the problem in the document, e.g. "steps[2].send.channel".
	Path string `json:"path"`
	// Line and Column are 1-based positions in the file (0 when unknown).
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Msg    string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%d:%d: %s: %s", p.Line, p.Column, p.Path, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Msg)
}

// ValidationError lists every problem found in a journey file.
type ValidationError struct {
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "journey"
	}
	fmt.Fprintf(&b, "%s: %d problem(s)", name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if e.File != "" && p.Line > 0 {
			b.WriteString(e.File + ":")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// ValidateConfig says what a spec is checked against. The zero value checks
// structure only.
type ValidateConfig struct {
	// Templates, when set, must hold every template a send step names, for
	// the step's channel.
	Templates *templates.Set
	// Channels are the channel names that exist. Default: the consent
	// channels (email, sms, push, line, webhook).
	Channels []string
	// Purposes are the known consent purposes. Default: marketing,
	// transactional, analytics, personalisation.
	Purposes []string
	// Expressions compiles expressions (journey conditions; entry
	// expressions and event filters too when it is an EntryChecker).
	// Default: a syntax check by package segments, without a schema.
	Expressions interface{ Check(src string) error }
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

type parser struct {
	cfg      ValidateConfig
	problems []Problem
	purpose  string // the spec's purpose, for checking its templates
}

func (p *parser) addf(n *yaml.Node, path, format string, args ...any) {
	pr := Problem{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		pr.Line, pr.Column = n.Line, n.Column
	}
	p.problems = append(p.problems, pr)
}

// Parse parses and validates a journey document. On any problem it returns a
// *ValidationError listing all of them, each with its path and line.
func Parse(file string, src []byte, cfg ValidateConfig) (*Spec, error) {
	p := &parser{cfg: cfg}
	if len(p.cfg.Channels) == 0 {
		p.cfg.Channels = consent.Channels()
	}
	if len(p.cfg.Purposes) == 0 {
		p.cfg.Purposes = []string{"marketing", "transactional", "analytics", "personalisation"}
	}
	if p.cfg.Expressions == nil {
		p.cfg.Expressions = syntaxChecker{}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		pr := Problem{Path: "(document)", Msg: err.Error()}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			pr.Msg = strings.Join(te.Errors, "; ")
		}
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error()); m != nil {
			pr.Line, _ = strconv.Atoi(m[1])
		}
		return nil, &ValidationError{File: file, Problems: []Problem{pr}}
	}
	if len(doc.Content) == 0 {
		return nil, &ValidationError{File: file, Problems: []Problem{{Path: "(document)", Msg: "empty document"}}}
	}
	spec := p.spec(doc.Content[0])
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
		return nil, &ValidationError{File: file, Problems: p.problems}
	}
	spec.buildIndex()
	return spec, nil
}

// fields checks a mapping's keys against allowed and returns key → value.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.addf(n, path, "want a mapping")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			p.addf(k, join(path, k.Value), "unknown key %q (want one of %s)", k.Value, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.addf(k, join(path, k.Value), "duplicate key")
		}
		out[k.Value] = v
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, path string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.addf(n, path, "want a string")
		return ""
	}
	return n.Value
}

func (p *parser) required(m map[string]*yaml.Node, parent *yaml.Node, path, key string) string {
	n, ok := m[key]
	if !ok {
		p.addf(parent, join(path, key), "required")
		return ""
	}
	v := p.str(n, join(path, key))
	if v == "" && n.Kind == yaml.ScalarNode {
		p.addf(n, join(path, key), "must not be empty")
	}
	return v
}

func (p *parser) duration(n *yaml.Node, path string) (d int64) {
	v := p.str(n, path)
	if v == "" {
		return 0
	}
	dur, err := ParseDuration(v)
	if err != nil {
		p.addf(n, path, "%v", err)
		return 0
	}
	if dur <= 0 {
		p.addf(n, path, "must be positive")
	}
	return int64(dur)
}

func (p *parser) expr(n *yaml.Node, path string) string {
	v := p.str(n, path)
	if v == "" {
		return ""
	}
	if err := p.cfg.Expressions.Check(v); err != nil {
		p.addf(n, path, "expression does not compile: %v", err)
	}
	return v
}

// entryExpr checks an entry segment or audience: no instance exists yet,
// so payload and entered_at are unknown there.
func (p *parser) entryExpr(n *yaml.Node, path string) string {
	return p.checked(n, path, func(ec EntryChecker, src string) error { return ec.CheckEntry(src) })
}

// eventExpr checks an event entry's filter: the profile, the event (event,
// timestamp, properties) and payload.
func (p *parser) eventExpr(n *yaml.Node, path string) string {
	return p.checked(n, path, func(ec EntryChecker, src string) error { return ec.CheckEventFilter(src) })
}

func (p *parser) checked(n *yaml.Node, path string, check func(EntryChecker, string) error) string {
	v := p.str(n, path)
	if v == "" {
		return ""
	}
	ec, ok := p.cfg.Expressions.(EntryChecker)
	if !ok {
		ec = syntaxChecker{}
	}
	if err := check(ec, v); err != nil {
		p.addf(n, path, "expression does not compile: %v", err)
	}
	return v
}

func (p *parser) spec(root *yaml.Node) *Spec {
	s := &Spec{}
	m := p.fields(root, "", "name", "description", "purpose", "entry", "reentry", "exit", "goal", "steps")
	s.Name = p.required(m, root, "", "name")
	if s.Name != "" && !idRE.MatchString(s.Name) {
		p.addf(m["name"], "name", "want lower-case letters, digits, - and _ (at most 64), got %q", s.Name)
	}
	s.Description = p.str(m["description"], "description")
	s.Purpose = p.required(m, root, "", "purpose")
	p.purpose = s.Purpose
	if s.Purpose != "" && !contains(p.cfg.Purposes, s.Purpose) {
		p.addf(m["purpose"], "purpose", "unknown purpose %q (want one of %s)", s.Purpose, strings.Join(p.cfg.Purposes, ", "))
	}
	if n, ok := m["entry"]; ok {
		s.Entry = p.entry(n)
	} else {
		p.addf(root, "entry", "required")
	}
	s.Reentry = Reentry{Mode: ReentryNever}
	if n, ok := m["reentry"]; ok {
		s.Reentry = p.reentry(n)
	}
	s.Exit = p.expr(m["exit"], "exit")
	s.Goal = p.expr(m["goal"], "goal")
	stepsNode, ok := m["steps"]
	if !ok {
		p.addf(root, "steps", "required")
		return s
	}
	if stepsNode.Kind != yaml.SequenceNode || len(stepsNode.Content) == 0 {
		p.addf(stepsNode, "steps", "want a non-empty list of steps")
		return s
	}
	nodes := map[string]*yaml.Node{}
	for i, sn := range stepsNode.Content {
		st := p.step(sn, fmt.Sprintf("steps[%d]", i))
		if st.ID != "" {
			if _, dup := nodes[st.ID]; dup {
				p.addf(sn, fmt.Sprintf("steps[%d].id", i), "duplicate step id %q", st.ID)
			} else {
				nodes[st.ID] = sn
			}
		}
		s.Steps = append(s.Steps, st)
	}
	p.graph(s, stepsNode)
	return s
}

func (p *parser) entry(n *yaml.Node) Entry {
	var e Entry
	if n.Kind == yaml.ScalarNode && n.Value == "api" {
		e.Kind = EntryAPI
		return e
	}
	m := p.fields(n, "entry", "segment", "check", "event", "where", "schedule", "audience", "missed", "api")
	var kinds []string
	for _, k := range []string{"segment", "event", "schedule", "api"} {
		if _, ok := m[k]; ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		p.addf(n, "entry", "want exactly one of segment, event, schedule or api (got %d)", len(kinds))
		return e
	}
	e.Kind = EntryKind(kinds[0])
	allowedWith := map[EntryKind][]string{
		EntrySegment:  {"segment", "check"},
		EntryEvent:    {"event", "where"},
		EntrySchedule: {"schedule", "audience", "missed"},
		EntryAPI:      {"api"},
	}
	for k, v := range m {
		if !contains(allowedWith[e.Kind], k) {
			p.addf(v, "entry."+k, "not allowed with a %s entry", e.Kind)
		}
	}
	switch e.Kind {
	case EntrySegment:
		e.Segment = p.entryExpr(m["segment"], "entry.segment")
		e.Check = DefaultSegmentCheck
		if c, ok := m["check"]; ok {
			e.Check = p.str(c, "entry.check")
			if _, err := ParseCron(e.Check); err != nil {
				p.addf(c, "entry.check", "%v", err)
			}
		}
	case EntryEvent:
		e.Event = p.str(m["event"], "entry.event")
		if e.Event == "" {
			p.addf(m["event"], "entry.event", "must name an event")
		}
		e.Where = p.eventExpr(m["where"], "entry.where")
	case EntrySchedule:
		e.Schedule = p.str(m["schedule"], "entry.schedule")
		if _, err := ParseCron(e.Schedule); err != nil {
			p.addf(m["schedule"], "entry.schedule", "%v", err)
		}
		e.Audience = p.entryExpr(m["audience"], "entry.audience")
		e.Missed, e.Deadline = MissedRunOnce, DefaultMissedDeadline
		if mn, ok := m["missed"]; ok {
			mm := p.fields(mn, "entry.missed", "policy", "deadline")
			if v, ok := mm["policy"]; ok {
				e.Missed = p.str(v, "entry.missed.policy")
				if e.Missed != MissedRunOnce && e.Missed != MissedSkip {
					p.addf(v, "entry.missed.policy", "want run_once or skip, got %q", e.Missed)
				}
			}
			if v, ok := mm["deadline"]; ok {
				e.Deadline = durationOf(p.duration(v, "entry.missed.deadline"))
			}
		}
	case EntryAPI:
		if v := m["api"]; v.Kind == yaml.MappingNode && len(v.Content) > 0 {
			p.addf(v, "entry.api", "takes no settings (write api: {})")
		}
	}
	return e
}

func (p *parser) reentry(n *yaml.Node) Reentry {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "never":
			return Reentry{Mode: ReentryNever}
		case "always":
			return Reentry{Mode: ReentryAlways}
		}
		p.addf(n, "reentry", "want never, always or {after: DURATION}, got %q", n.Value)
		return Reentry{Mode: ReentryNever}
	}
	m := p.fields(n, "reentry", "after")
	v, ok := m["after"]
	if !ok {
		p.addf(n, "reentry.after", "required")
		return Reentry{Mode: ReentryNever}
	}
	return Reentry{Mode: ReentryAfter, After: durationOf(p.duration(v, "reentry.after"))}
}

var stepKinds = []string{"send", "wait", "branch", "split", "update", "webhook", "exit"} //nolint:gochecknoglobals // read-only after initialisation

func (p *parser) step(n *yaml.Node, path string) Step {
	var st Step
	if n.Kind != yaml.MappingNode {
		p.addf(n, path, "want a mapping with an id and one of %s", strings.Join(stepKinds, ", "))
		return st
	}
	// Unknown keys first, with a helpful message for unknown step kinds.
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "id" && k.Value != "next" && !contains(stepKinds, k.Value) {
			p.addf(k, join(path, k.Value), "unknown step kind or key %q (want id, next and one of %s)", k.Value, strings.Join(stepKinds, ", "))
			continue
		}
		m[k.Value] = v
	}
	st.ID = p.required(m, n, path, "id")
	if st.ID != "" && !idRE.MatchString(st.ID) {
		p.addf(m["id"], join(path, "id"), "want lower-case letters, digits, - and _, got %q", st.ID)
	}
	if st.ID == EndStep {
		p.addf(m["id"], join(path, "id"), "%q is reserved (it means: finish the journey)", EndStep)
	}
	st.Next = p.str(m["next"], join(path, "next"))
	var kinds []string
	for _, k := range stepKinds {
		if _, ok := m[k]; ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		p.addf(n, path, "want exactly one step kind among %s (got %d)", strings.Join(stepKinds, ", "), len(kinds))
		return st
	}
	st.Kind = StepKind(kinds[0])
	body := m[kinds[0]]
	bp := join(path, kinds[0])
	switch st.Kind {
	case StepSend:
		p.sendStepSpec(&st, body, bp)
	case StepWait:
		p.waitStepSpec(&st, body, bp)
	case StepBranch:
		p.branchStepSpec(&st, body, bp)
	case StepSplit:
		p.splitStepSpec(&st, body, bp)
	case StepUpdate:
		p.updateStepSpec(&st, body, bp)
	case StepWebhook:
		p.webhookStepSpec(&st, body, bp)
	case StepExit:
		p.exitStepSpec(&st, body, bp)
	}
	return st
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }
