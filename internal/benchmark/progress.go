package benchmark

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes what the bench is doing to a terminal: one line per
// phase and, for long phases, a line redrawn in place with the amount
// done, its rate and the time left where it is known. A nil writer makes
// every method a no-op.
type progress struct {
	w     io.Writer
	every time.Duration
}

func newProgress(w io.Writer) *progress { return &progress{w: w, every: 500 * time.Millisecond} }

func (p *progress) step(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "bench: "+format+"\n", args...)
}

// watch redraws label with done() (in unit) until stop is called. frac,
// when not nil, is the fraction finished, from which the time left is
// estimated. done may be nil: then only the elapsed time is shown.
func (p *progress) watch(label, unit string, done func() int64, frac func() float64) (stop func()) {
	if p.w == nil {
		return func() {}
	}
	start := time.Now()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprintf(p.w, "\r%s\x1b[K\n", statusLine(label, unit, done, frac, time.Since(start)))
				return
			case <-t.C:
				fmt.Fprintf(p.w, "\r%s\x1b[K", statusLine(label, unit, done, frac, time.Since(start)))
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// statusLine is one progress line: "label: 1.2M bytes, 3.4M bytes/s, 5s
// left (12s)".
func statusLine(label, unit string, done func() int64, frac func() float64, elapsed time.Duration) string {
	s := "bench: " + label
	if done != nil {
		n := done()
		s += fmt.Sprintf(": %s %s", human(float64(n)), unit)
		if sec := elapsed.Seconds(); sec > 0 {
			s += fmt.Sprintf(", %s %s/s", human(float64(n)/sec), unit)
		}
	}
	if frac != nil {
		if f := frac(); f > 0 && f < 1 {
			left := time.Duration(float64(elapsed) * (1 - f) / f)
			s += fmt.Sprintf(", %s left", left.Round(time.Second))
		}
	}
	return s + fmt.Sprintf(" (%s)", elapsed.Round(time.Second))
}

// human is n with a k/M/G suffix.
func human(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
