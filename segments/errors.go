package segments

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/expr-lang/expr/file"
)

// Compile errors: positions and suggestions for unknown names.

// Error is a compile error: a syntax, name or type error in an expression.
type Error struct {
	Line   int    // 1-based
	Column int    // 1-based, in characters
	Msg    string // without position
	// Suggestions are the closest known names for an unknown name.
	Suggestions []string
	// cause classifies limit refusals (ErrTooLarge, ErrUnbounded).
	cause error
}

// Unwrap is ErrTooLarge or ErrUnbounded for a refusal by size or
// boundedness, nil for syntax, name and type errors.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	msg := e.Msg
	if len(e.Suggestions) > 0 {
		q := make([]string, len(e.Suggestions))
		for i, s := range e.Suggestions {
			q[i] = "`" + s + "`"
		}
		msg += " (did you mean " + strings.Join(q, " or ") + "?)"
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, msg)
}

// position converts a character offset into 1-based line and column.
func position(src string, from int) (int, int) {
	line, col, i := 1, 1, 0
	for _, r := range src {
		if i == from {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

var unknownNameRE = regexp.MustCompile(`^unknown name (\S+)`)

func toError(src string, err error, env map[string]any) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Line: 1, Column: 1, Msg: err.Error()}
	}
	line, col := position(src, fe.From)
	e := &Error{Line: line, Column: col, Msg: fe.Message}
	if m := unknownNameRE.FindStringSubmatch(fe.Message); m != nil {
		if _, known := env[m[1]]; !known && contains(journeyNames, m[1]) {
			e.Msg += " (" + m[1] + " is known in journey conditions only)"
		}
		names := make([]string, 0, len(env))
		for n := range env {
			names = append(names, n)
		}
		e.Suggestions = closest(m[1], names)
	}
	return e
}

// closest returns up to two known names within a small edit distance of
// name, best first.
func closest(name string, known []string) []string {
	type cand struct {
		n string
		d int
	}
	var cs []cand
	max := 2
	if len(name) > 6 {
		max = 3
	}
	for _, k := range known {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if d <= max || (len(name) >= 3 && (strings.HasPrefix(k, name) || strings.HasPrefix(name, k))) {
			cs = append(cs, cand{k, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].n < cs[j].n
	})
	var out []string
	for i := 0; i < len(cs) && i < 2; i++ {
		out = append(out, cs[i].n)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
