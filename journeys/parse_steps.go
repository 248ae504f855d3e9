package journeys

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/engine"
	"go.yaml.in/yaml/v3"
)

// sendStepSpec parses a send step: a known channel and a template of that channel whose purpose matches the journey's.
func (p *parser) sendStepSpec(st *Step, body *yaml.Node, bp string) {
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
}

// waitStepSpec parses a wait step: exactly one of duration, until, event or condition, and a timeout for the last two.
func (p *parser) waitStepSpec(st *Step, body *yaml.Node, bp string) {
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
}

// branchStepSpec parses a branch step: {if, goto} arms and an optional final else.
func (p *parser) branchStepSpec(st *Step, body *yaml.Node, bp string) {
	if body.Kind != yaml.SequenceNode || len(body.Content) == 0 {
		p.addf(body, bp, "want a list of {if: EXPR, goto: STEP} and an optional final {else: STEP}")
		return
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
}

// splitStepSpec parses a split step: at least two {percent, goto} arms adding up to 100.
func (p *parser) splitStepSpec(st *Step, body *yaml.Node, bp string) {
	if body.Kind != yaml.SequenceNode || len(body.Content) < 2 {
		p.addf(body, bp, "want a list of at least two {percent: N, goto: STEP}")
		return
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
}

// updateStepSpec parses an update step: a mapping of trait to scalar value, never a system name.
func (p *parser) updateStepSpec(st *Step, body *yaml.Node, bp string) {
	f := p.fields(body, bp, "set")
	v, ok := f["set"]
	if !ok || v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		p.addf(body, join(bp, "set"), "want a mapping of trait: value")
		return
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
}

// webhookStepSpec parses a webhook step: an http(s) URL, with a webhook channel configured.
func (p *parser) webhookStepSpec(st *Step, body *yaml.Node, bp string) {
	f := p.fields(body, bp, "url")
	st.URL = p.required(f, body, bp, "url")
	if st.URL != "" && !strings.HasPrefix(st.URL, "https://") && !strings.HasPrefix(st.URL, "http://") {
		p.addf(f["url"], join(bp, "url"), "want an http(s) URL")
	}
	if !contains(p.cfg.Channels, "webhook") {
		p.addf(body, bp, "no webhook channel is configured")
	}
}

// exitStepSpec parses an exit step: exit: {} or exit: true.
func (p *parser) exitStepSpec(st *Step, body *yaml.Node, bp string) {
	if !(body.Kind == yaml.ScalarNode && (body.Value == "true" || body.Value == "")) && !(body.Kind == yaml.MappingNode && len(body.Content) == 0) {
		p.addf(body, bp, "write exit: {} or exit: true")
	}
}
