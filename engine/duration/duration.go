// Package duration is Tact's one duration syntax, shared by expressions
// (`ago("1w2d")`), journey specs (wait durations, timeouts, re-entry
// `after:`) and retention periods.
//
// A duration is one or more terms, each a number and a unit, written
// without spaces: "30d", "90m", "1w2d", "1h30m", "0.5d". Units are s
// (second), m (minute), h (hour), d (24 hours) and w (7 days); Years adds y
// (365 days) for retention periods. Surrounding spaces are ignored. Signs,
// spaces between terms, repeated or unknown units and values beyond about
// 290 years are refused with an *Error naming the 1-based position.
package duration

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day and Week are the fixed-length units d and w.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
	Year = 365 * Day
)

// Error is a syntax error in a duration. Pos is the 1-based character
// position in Input where the problem starts.
type Error struct {
	Input string
	Pos   int
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid duration %q at position %d: %s", e.Input, e.Pos, e.Msg)
}

// Syntax says which units a parser accepts.
type Syntax struct {
	// Years accepts y (365 days) besides s m h d w.
	Years bool
}

// Parse parses a duration with the units s m h d w.
func Parse(s string) (time.Duration, error) { return Syntax{}.Parse(s) }

// Parse parses s with this syntax.
func (x Syntax) Parse(s string) (time.Duration, error) {
	want := "s, m, h, d or w"
	if x.Years {
		want = "s, m, h, d, w or y"
	}
	lead := len(s) - len(strings.TrimLeft(s, " \t"))
	t := strings.TrimSpace(s)
	fail := func(at int, format string, args ...any) (time.Duration, error) {
		return 0, &Error{Input: s, Pos: charPos(s, lead+at), Msg: fmt.Sprintf(format, args...)}
	}
	if t == "" {
		return fail(0, `empty (want a number and a unit %s, e.g. "30d")`, want)
	}
	var total time.Duration
	seen := map[byte]bool{}
	i := 0
	for i < len(t) {
		start := i
		if t[i] == '-' || t[i] == '+' {
			return fail(i, "want a positive number without a sign")
		}
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		intEnd := i
		if i < len(t) && t[i] == '.' {
			i++
			for i < len(t) && t[i] >= '0' && t[i] <= '9' {
				i++
			}
			if i == intEnd+1 {
				return fail(intEnd, "want digits after the decimal point")
			}
		}
		if i == start {
			return fail(i, "want a number before the unit (units %s)", want)
		}
		if i == len(t) {
			return fail(i, "missing unit after %q (want %s)", t[start:i], want)
		}
		u := t[i]
		unit, ok := units(u, x.Years)
		if !ok {
			return fail(i, "unknown unit %q (want %s)", string(rune(t[i])), want)
		}
		if seen[u] {
			return fail(i, "unit %q given twice", string(u))
		}
		seen[u] = true
		term, ok := termOf(t[start:intEnd], t[intEnd:i], unit)
		if !ok || total > math.MaxInt64-term {
			return fail(start, "too long (at most about 290 years)")
		}
		total += term
		i++
	}
	return total, nil
}

// termOf is whole.frac units, or false when it overflows. frac is empty or
// a decimal point and digits.
func termOf(whole, frac string, unit time.Duration) (time.Duration, bool) {
	var w time.Duration
	for _, c := range whole {
		if w > (math.MaxInt64-9)/10 {
			return 0, false
		}
		w = w*10 + time.Duration(c-'0')
	}
	if w > math.MaxInt64/unit {
		return 0, false
	}
	d := w * unit
	if len(frac) > 1 {
		f, err := strconv.ParseFloat("0"+frac, 64)
		if err != nil {
			return 0, false
		}
		part := time.Duration(math.Round(f * float64(unit)))
		if d > math.MaxInt64-part {
			return 0, false
		}
		d += part
	}
	return d, true
}

func units(u byte, years bool) (time.Duration, bool) {
	switch u {
	case 's':
		return time.Second, true
	case 'm':
		return time.Minute, true
	case 'h':
		return time.Hour, true
	case 'd':
		return Day, true
	case 'w':
		return Week, true
	case 'y':
		return Year, years
	}
	return 0, false
}

// charPos converts a byte offset of s into a 1-based character position.
func charPos(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return len([]rune(s[:off])) + 1
}
