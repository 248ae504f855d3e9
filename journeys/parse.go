package journeys

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
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
		f := p.fields(body, bp, "channel", "template")
		st.Channel = p.required(f, body, bp, "channel")
		st.Template = p.required(f, body, bp, "template")
		if st.Channel != "" && (!contains(p.cfg.Channels, st.Channel) || st.Channel == "webhook") {
			p.addf(f["channel"], join(bp, "channel"), "unknown channel %q (want one of %s; use a webhook step for webhooks)", st.Channel, strings.Join(without(p.cfg.Channels, "webhook"), ", "))
		} else if st.Template != "" && p.cfg.Templates != nil {
			t, err := p.cfg.Templates.Lookup(st.Template)
			if err != nil {
				p.addf(f["template"], join(bp, "template"), "template %q does not exist", st.Template)
			} else if t.Channel != st.Channel {
				p.addf(f["template"], join(bp, "template"), "template %q is for %s, not %s", st.Template, t.Channel, st.Channel)
			} else if tx := p.purpose == PurposeTransactional; t.Marketing() == tx {
				p.addf(f["template"], join(bp, "template"), "template %q is a %s template; a %s journey sends only %s templates",
					st.Template, t.Purpose, p.purpose, map[bool]string{true: "transactional", false: "marketing"}[tx])
			}
		}
	case StepWait:
		f := p.fields(body, bp, "duration", "until", "event", "condition", "timeout", "on_timeout")
		n := 0
		for _, k := range []string{"duration", "until", "event", "condition"} {
			if _, ok := f[k]; ok {
				n++
			}
		}
		if n != 1 {
			p.addf(body, bp, "want exactly one of duration, until, event or condition")
		}
		if v, ok := f["duration"]; ok {
			st.Duration = durationOf(p.duration(v, join(bp, "duration")))
		}
		if v, ok := f["until"]; ok {
			st.Until = p.str(v, join(bp, "until"))
			if _, err := parseClock(st.Until); err != nil {
				p.addf(v, join(bp, "until"), "%v (a time of day in the person's zone)", err)
			}
		}
		if v, ok := f["event"]; ok {
			st.Event = p.str(v, join(bp, "event"))
		}
		st.Condition = p.expr(f["condition"], join(bp, "condition"))
		if st.Event != "" || st.Condition != "" {
			v, ok := f["timeout"]
			if !ok {
				p.addf(body, join(bp, "timeout"), "required for an event or condition wait")
			} else {
				st.Timeout = durationOf(p.duration(v, join(bp, "timeout")))
			}
			st.OnTimeout = p.str(f["on_timeout"], join(bp, "on_timeout"))
		} else {
			for _, k := range []string{"timeout", "on_timeout"} {
				if v, ok := f[k]; ok {
					p.addf(v, join(bp, k), "only for event or condition waits")
				}
			}
		}
	case StepBranch:
		if body.Kind != yaml.SequenceNode || len(body.Content) == 0 {
			p.addf(body, bp, "want a list of {if: EXPR, goto: STEP} and an optional final {else: STEP}")
			break
		}
		for i, an := range body.Content {
			ap := fmt.Sprintf("%s[%d]", bp, i)
			f := p.fields(an, ap, "if", "goto", "else")
			if v, ok := f["else"]; ok {
				if i != len(body.Content)-1 || len(f) != 1 {
					p.addf(an, ap, "else must be alone and last")
				}
				st.Else = p.str(v, join(ap, "else"))
				continue
			}
			a := Arm{If: p.expr(f["if"], join(ap, "if")), Goto: p.str(f["goto"], join(ap, "goto"))}
			if a.If == "" {
				p.addf(an, join(ap, "if"), "required")
			}
			if a.Goto == "" {
				p.addf(an, join(ap, "goto"), "required")
			}
			st.Branches = append(st.Branches, a)
		}
	case StepSplit:
		if body.Kind != yaml.SequenceNode || len(body.Content) < 2 {
			p.addf(body, bp, "want a list of at least two {percent: N, goto: STEP}")
			break
		}
		total := 0
		for i, an := range body.Content {
			ap := fmt.Sprintf("%s[%d]", bp, i)
			f := p.fields(an, ap, "percent", "goto")
			a := SplitArm{Goto: p.required(f, an, ap, "goto")}
			if v, ok := f["percent"]; ok {
				pc, err := strconv.Atoi(strings.TrimSuffix(v.Value, "%"))
				if err != nil || pc <= 0 || pc > 100 {
					p.addf(v, join(ap, "percent"), "want an integer 1..100, got %q", v.Value)
				}
				a.Percent = pc
				total += pc
			} else {
				p.addf(an, join(ap, "percent"), "required")
			}
			st.Split = append(st.Split, a)
		}
		if total != 100 {
			p.addf(body, bp, "percentages add up to %d, not 100", total)
		}
	case StepUpdate:
		f := p.fields(body, bp, "set")
		v, ok := f["set"]
		if !ok || v.Kind != yaml.MappingNode || len(v.Content) == 0 {
			p.addf(body, join(bp, "set"), "want a mapping of trait: value")
			break
		}
		st.Set = map[string]any{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], v.Content[i+1]
			if contains(engine.SystemNames(), k.Value) {
				p.addf(k, join(bp, "set."+k.Value), "%q is not a trait an update step may set", k.Value)
				continue
			}
			var x any
			if err := val.Decode(&x); err != nil || val.Kind != yaml.ScalarNode {
				p.addf(val, join(bp, "set."+k.Value), "want a scalar value")
				continue
			}
			st.Set[k.Value] = x
		}
	case StepWebhook:
		f := p.fields(body, bp, "url")
		st.URL = p.required(f, body, bp, "url")
		if st.URL != "" && !strings.HasPrefix(st.URL, "https://") && !strings.HasPrefix(st.URL, "http://") {
			p.addf(f["url"], join(bp, "url"), "want an http(s) URL")
		}
		if !contains(p.cfg.Channels, "webhook") {
			p.addf(body, bp, "no webhook channel is configured")
		}
	case StepExit:
		if !(body.Kind == yaml.ScalarNode && (body.Value == "true" || body.Value == "")) && !(body.Kind == yaml.MappingNode && len(body.Content) == 0) {
			p.addf(body, bp, "write exit: {} or exit: true")
		}
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

// ParseCron parses a standard 5-field cron spec (descriptors like @daily and
// a CRON_TZ= or TZ= prefix allowed). It never panics: robfig/cron panics on
// some malformed specs, which come back as errors.
func ParseCron(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid cron spec %q: %v", spec, r)
		}
	}()
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("empty cron spec")
	}
	f := strings.Fields(spec)
	if strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=") {
		if len(f) == 1 {
			return nil, fmt.Errorf("invalid cron spec %q: time zone without a schedule", spec)
		}
	}
	sched, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron spec %q: %w", spec, err)
	}
	return sched, nil
}
