package server

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/journeys"
)

// journeyGraph draws a journey's steps as SVG, top to bottom in spec
// order: the entry, each step with its counts, and the end. Edges to the
// following step are straight; jumps (branches, splits, timeouts, next:)
// curve along the right-hand side, labelled.

type graphEdge struct {
	from, to int // node indexes; the end node is len(steps)+1
	label    string
}

const (
	gNodeW   = 460.0
	gNodeH   = 84.0
	gGap     = 40.0
	gLeft    = 20.0
	gTop     = 20.0
	gEntryH  = 50.0
	gLaneGap = 26.0
)

// stepEdges lists where a person can go from step i.
func stepEdges(spec *journeys.Spec, i int, index map[string]int, end int) []graphEdge {
	st := spec.Steps[i]
	node := i + 1
	target := func(id string) int {
		if id == "" || id == journeys.EndStep {
			return end
		}
		if k, ok := index[id]; ok {
			return k + 1
		}
		return end
	}
	def := target(spec.NextOf(st.ID))
	var out []graphEdge
	switch st.Kind {
	case journeys.StepExit:
		out = append(out, graphEdge{node, end, ""})
	case journeys.StepBranch:
		for _, a := range st.Branches {
			out = append(out, graphEdge{node, target(a.Goto), "if " + shorten(a.If, 28)})
		}
		els := def
		if st.Else != "" {
			els = target(st.Else)
		}
		out = append(out, graphEdge{node, els, "else"})
	case journeys.StepSplit:
		for _, a := range st.Split {
			out = append(out, graphEdge{node, target(a.Goto), fmt.Sprintf("%d%%", a.Percent)})
		}
	case journeys.StepWait:
		out = append(out, graphEdge{node, def, ""})
		if wk := st.WaitKind(); (wk == "event" || wk == "condition") && st.OnTimeout != "" {
			out = append(out, graphEdge{node, target(st.OnTimeout), "timeout"})
		}
	default:
		out = append(out, graphEdge{node, def, ""})
	}
	return out
}

func shorten(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// stepDetail is the second line of a node: what the step does.
func stepDetail(st journeys.Step) string {
	switch st.Kind {
	case journeys.StepSend:
		return st.Channel + " · " + st.Template
	case journeys.StepWait:
		switch st.WaitKind() {
		case "event":
			return "until event " + st.Event
		case "condition":
			return "until " + shorten(st.Condition, 40)
		case "until":
			return "until " + st.Until + " local time"
		}
		return "for " + humanDuration(st.Duration)
	case journeys.StepWebhook:
		return shorten(st.URL, 50)
	case journeys.StepUpdate:
		keys := make([]string, 0, len(st.Set))
		for k := range st.Set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "set " + strings.Join(keys, ", ")
	}
	return ""
}

// humanDuration writes d as a journey spec would: 3d, 12h, 90m.
func humanDuration(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func reasonsText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, formatInt(m[k]))
	}
	return strings.Join(parts, ", ")
}

// journeyGraph renders spec with the per-step stats.
func journeyGraph(lang string, spec *journeys.Spec, stats journeys.Stats) string {
	byStep := map[string]journeys.StepStats{}
	for _, s := range stats.Steps {
		byStep[s.Step] = s
	}
	index := map[string]int{}
	for i, st := range spec.Steps {
		index[st.ID] = i
	}
	end := len(spec.Steps) + 1
	yOf := func(node int) float64 {
		if node == 0 {
			return gTop
		}
		return gTop + gEntryH + gGap + float64(node-1)*(gNodeH+gGap)
	}
	hOf := func(node int) float64 {
		if node == 0 || node == end {
			return gEntryH
		}
		return gNodeH
	}
	var edges []graphEdge
	edges = append(edges, graphEdge{0, 1, ""})
	if len(spec.Steps) == 0 {
		edges[0].to = end
	}
	for i := range spec.Steps {
		edges = append(edges, stepEdges(spec, i, index, end)...)
	}
	lanes := 0
	for _, e := range edges {
		if e.to != e.from+1 {
			lanes++
		}
	}
	width := gLeft + gNodeW + 40 + float64(lanes)*gLaneGap + 140
	height := yOf(end) + gEntryH + gTop
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" role="img" viewBox="0 0 %g %g" width="%g" aria-labelledby="graph-title">`, width, height, width)
	fmt.Fprintf(&b, `<title id="graph-title">%s</title>`, esc(fmt.Sprintf(T(lang, "c.graph_title"), spec.Name)))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="arrowhead"/></marker></defs>`)
	cx := gLeft + gNodeW/2
	lane := 0
	for _, e := range edges {
		y1 := yOf(e.from) + hOf(e.from)
		y2 := yOf(e.to)
		if e.to == e.from+1 {
			fmt.Fprintf(&b, `<line class="edge" x1="%g" y1="%g" x2="%g" y2="%g" marker-end="url(#arrow)"/>`, cx, y1, cx, y2)
			if e.label != "" {
				fmt.Fprintf(&b, `<text class="elabel" x="%g" y="%g">%s</text>`, cx+6, (y1+y2)/2+4, esc(e.label))
			}
			continue
		}
		lane++
		x := gLeft + gNodeW + 20 + float64(lane)*gLaneGap
		sy := yOf(e.from) + hOf(e.from)/2
		ty := yOf(e.to) + hOf(e.to)/2
		fmt.Fprintf(&b, `<path class="edge jump" d="M%g %g H%g V%g H%g" marker-end="url(#arrow)"/>`, gLeft+gNodeW, sy, x, ty, gLeft+gNodeW+2)
		if e.label != "" {
			// Just right of the lane where it leaves its step, on a light
			// backdrop so crossing lanes do not hide it.
			fmt.Fprintf(&b, `<text class="elabel jl" x="%g" y="%g">%s</text>`, x+4, sy+14, esc(e.label))
		}
	}
	// entry and end
	entry := fmt.Sprintf("%s: %s", T(lang, "c.entry"), spec.Entry.Kind)
	switch spec.Entry.Kind {
	case journeys.EntrySegment:
		entry += " · " + shorten(spec.Entry.Segment, 40)
	case journeys.EntryEvent:
		entry += " · " + spec.Entry.Event
	case journeys.EntrySchedule:
		entry += " · " + spec.Entry.Schedule
	}
	fmt.Fprintf(&b, `<g class="node entry"><rect x="%g" y="%g" width="%g" height="%g" rx="25"/><text x="%g" y="%g" text-anchor="middle">%s</text><text x="%g" y="%g" text-anchor="middle" class="small">%s %s</text></g>`,
		gLeft, yOf(0), gNodeW, gEntryH, cx, yOf(0)+21, esc(entry), cx, yOf(0)+39, esc(T(lang, "c.entered")), formatInt(stats.Entered))
	fmt.Fprintf(&b, `<g class="node end"><rect x="%g" y="%g" width="%g" height="%g" rx="25"/><text x="%g" y="%g" text-anchor="middle">%s</text><text x="%g" y="%g" text-anchor="middle" class="small">%s</text></g>`,
		gLeft, yOf(end), gNodeW, gEntryH, cx, yOf(end)+21, esc(T(lang, "c.end")), cx, yOf(end)+39,
		esc(fmt.Sprintf("%s %s · %s %s · %s %s", T(lang, "c.completed"), formatInt(stats.Completed), T(lang, "c.converted"), formatInt(stats.Converted), T(lang, "c.exited"), formatInt(stats.Exited))))
	for i, st := range spec.Steps {
		y := yOf(i + 1)
		s := byStep[st.ID]
		fmt.Fprintf(&b, `<g class="node k-%s"><rect x="%g" y="%g" width="%g" height="%g" rx="6"/>`, esc(string(st.Kind)), gLeft, y, gNodeW, gNodeH)
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="title">%s</text><text x="%g" y="%g" class="kind" text-anchor="end">%s</text>`,
			gLeft+12, y+20, esc(st.ID), gLeft+gNodeW-12, y+20, esc(string(st.Kind)))
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="small">%s</text>`, gLeft+12, y+38, esc(stepDetail(st)))
		line := fmt.Sprintf("%s %s · %s %s", T(lang, "c.entered"), formatInt(s.Entered), T(lang, "c.waiting"), formatInt(s.Waiting))
		if st.Kind == journeys.StepSend || st.Kind == journeys.StepWebhook {
			line += fmt.Sprintf(" · %s %s · %s %s · %s %s", T(lang, "c.sent"), formatInt(s.Sent), T(lang, "c.skipped"), formatInt(sumCounts(s.Skipped)), T(lang, "c.held"), formatInt(sumCounts(s.Held)))
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="counts">%s</text>`, gLeft+12, y+56, esc(line))
		line2 := fmt.Sprintf("%s %s · %s %s", T(lang, "c.converted"), formatInt(s.Converted), T(lang, "c.exited"), formatInt(s.Exited))
		if r := reasonsText(s.Skipped); r != "" {
			line2 += " · " + T(lang, "c.skipped") + ": " + r
		}
		if r := reasonsText(s.Held); r != "" {
			line2 += " · " + T(lang, "c.held") + ": " + r
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="small">%s</text></g>`, gLeft+12, y+74, esc(shorten(line2, 80)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
