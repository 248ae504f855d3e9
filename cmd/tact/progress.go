package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tactcdp/tact/engine"
)

// progressLine is a one-line progress display on a terminal: what is done,
// the rate and the time left, redrawn in place at most every refresh.
type progressLine struct {
	w     io.Writer
	label string
	now   func() time.Time
	start time.Time
	drawn time.Time
	shown bool
}

// progressRefresh bounds how often the line is redrawn.
const progressRefresh = 200 * time.Millisecond

// newProgress returns a display on w, or nil when w is not a terminal or
// quiet is set: redirected output and scripts get no progress.
func newProgress(w io.Writer, label string, quiet bool, now func() time.Time) *progressLine {
	if quiet || !isTerminal(w) {
		return nil
	}
	return &progressLine{w: w, label: label, now: now, start: now()}
}

// count shows done of total units (e.g. "people").
func (p *progressLine) count(done, total int64, unit string) {
	if p == nil || !p.due(done == total) {
		return
	}
	p.draw(fmt.Sprintf("%d of %d %s", done, total, unit), float64(done), float64(total), unit)
}

// importStep shows an import's progress report.
func (p *progressLine) importStep(ev engine.ImportProgress) {
	if p == nil {
		return
	}
	if ev.Phase == engine.PhaseWrite {
		p.drawn = time.Time{}
		p.put("resolving identities and writing…")
		return
	}
	if !p.due(ev.Done == ev.Total) {
		return
	}
	p.draw(fmt.Sprintf("read %.1f of %.1f MB", mb(ev.Done), mb(ev.Total)), mb(ev.Done), mb(ev.Total), "MB")
}

// compactStep shows a database rewrite's progress report.
func (p *progressLine) compactStep(ev engine.CompactProgress) {
	if p == nil || !p.due(ev.Done == ev.Total) {
		return
	}
	p.draw(fmt.Sprintf("%.1f of about %.1f MB written", mb(ev.Done), mb(ev.Total)), mb(ev.Done), mb(ev.Total), "MB")
}

// onCompact is the report function for a database rewrite: nil without a
// display, so that the engine does not watch the file for nothing.
func (p *progressLine) onCompact() func(engine.CompactProgress) {
	if p == nil {
		return nil
	}
	return p.compactStep
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// due says whether to redraw now: at most every progressRefresh, and
// always at the end.
func (p *progressLine) due(last bool) bool {
	t := p.now()
	if !last && !p.drawn.IsZero() && t.Sub(p.drawn) < progressRefresh {
		return false
	}
	p.drawn = t
	return true
}

func (p *progressLine) draw(what string, done, total float64, unit string) {
	elapsed := p.now().Sub(p.start).Seconds()
	msg := what
	if elapsed > 0 && done > 0 {
		rate := done / elapsed
		msg += fmt.Sprintf(", %.1f %s/s", rate, unit)
		if total > done {
			msg += fmt.Sprintf(", %s left", (time.Duration((total-done)/rate) * time.Second).Round(time.Second))
		}
	}
	p.put(msg)
}

func (p *progressLine) put(msg string) {
	fmt.Fprintf(p.w, "\r%s: %s\x1b[K", p.label, msg)
	p.shown = true
}

// finish clears the line, so that results print on a clean line.
func (p *progressLine) finish() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
