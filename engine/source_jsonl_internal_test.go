package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// v1JSONL is the JSON Lines reader as it was before jsontext: each line
// decoded into a map by encoding/json. It is kept as the oracle of what a
// line means.
type v1JSONL struct {
	sc   *bufio.Scanner
	line int
	cols []string
	idx  map[string]int
}

func (j *v1JSONL) next() (int, []cell, error) {
	for j.sc.Scan() {
		j.line++
		b := bytes.TrimSpace(j.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return j.line, nil, fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
			}
			return j.line, nil, fmt.Errorf("want one JSON object per line: %w", err)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if _, ok := j.idx[k]; !ok {
				j.idx[k] = len(j.cols)
				j.cols = append(j.cols, k)
			}
		}
		cells := make([]cell, len(j.cols))
		for k, v := range obj {
			cells[j.idx[k]] = cell{present: !bytes.Equal(v, []byte("null")), raw: v, kind: cellJSON}
		}
		return j.line, cells, nil
	}
	if err := j.sc.Err(); err != nil {
		return j.line + 1, nil, err
	}
	return 0, nil, io.EOF
}

// readJSONL renders what a reader makes of input, line by line, up to its
// first error: the line number, the header, each cell (absent, or present
// or null with its raw text) and the kind of error.
func readJSONL(next func() (int, []cell, error), header func() []string) string {
	var b strings.Builder
	for {
		line, cells, err := next()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			kind := "not an object"
			if strings.HasPrefix(err.Error(), "invalid JSON") {
				kind = "invalid JSON"
			}
			fmt.Fprintf(&b, "%d: error: %s\n", line, kind)
			return b.String()
		}
		fmt.Fprintf(&b, "%d: %q", line, header())
		for _, c := range cells {
			switch {
			case c.raw == nil:
				b.WriteString(" -")
			case c.present:
				fmt.Fprintf(&b, " %s", c.raw)
			default:
				fmt.Fprintf(&b, " (%s)", c.raw)
			}
		}
		b.WriteString("\n")
	}
}

func scanner(input string) *bufio.Scanner {
	sc := bufio.NewScanner(strings.NewReader(input))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return sc
}

// bothJSONL reads input with the reader, its lines split blockLines at a
// time by workers goroutines, and with the oracle.
func bothJSONL(t testing.TB, input string, blockLines, workers int) (got, want string) {
	r := newJSONLReader(nil, scanner(input), blockLines, workers)
	defer func() { require.NoError(t, r.close()) }()
	o := &v1JSONL{sc: scanner(input), idx: map[string]int{}}
	return readJSONL(r.next, r.header), readJSONL(o.next, func() []string { return o.cols })
}

// jsonlSplits are the ways the tests cut the input into blocks and share
// them out: one line a block (every line crosses a block boundary), a
// few, and the default; one worker and several.
var jsonlSplits = []struct{ blockLines, workers int }{{1, 1}, {1, 3}, {2, 2}, {3, 4}, {jsonlBlockLines, 2}}

var jsonlCases = []string{
	"{\"user_id\":\"u1\",\"event\":\"x\"}\n{\"event\":\"y\",\"anonymous_id\":\"a\",\"user_id\":null}\n",
	"{\"b\":1,\"a\":2,\"c\":{\"x\":[1, 2 ,{\"y\":\"\\u00e9\"}]}}\n\n   \n{\"d\":true}\n",
	"{\"a\":1,\"a\":2}\n",
	"{\"a\":\"\\ud800\"}\n",
	"{\"a\xff\":\"b\xfe\"}\n",
	"{\"\\u0061\":1}\n{\"a\":2}\n",
	"  {\"a\" : 1 }  \n",
	"{}\n{\"a\":1}\n",
	"null\n{\"a\":1}\n",
	"null x\n",
	"[1]\n",
	"\"s\"\n",
	"12\n",
	"true\n",
	"{\"a\":1}{\"b\":2}\n",
	"{\"a\":1} x\n",
	"{\"a\":1,}\n",
	"{\"a\":1\n",
	"{\"a\":01}\n",
	"{\"a\":1e5,\"b\":-0.5E-3}\n",
	"{a:1}\n",
	"x\n",
	"{\"a\":\"tab\there\"}\n",
	"[1,\n",
	"{\"a\":1}\r\n{\"b\":2}\r\n",
}

// TestJSONLReaderMatchesEncodingJSON: the one-pass reader makes of every
// line what decoding it into a map with encoding/json made: the same
// header in the same order, the same raw values, null as absent, a repeated
// key's last value, and an error of the same kind on the same line.
func TestJSONLReaderMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for i, input := range append(jsonlCases, strings.Join(jsonlCases, "")) {
		for _, sp := range jsonlSplits {
			t.Run(fmt.Sprintf("%d/lines=%d/workers=%d", i, sp.blockLines, sp.workers), func(t *testing.T) {
				t.Parallel()
				got, want := bothJSONL(t, input, sp.blockLines, sp.workers)
				require.Equal(t, want, got, "input %q", input)
			})
		}
	}
}

// TestJSONLReaderStopsItsWorkers: a reader closed before its input ends
// (a bad row stops an import) leaves no goroutine behind, whether its
// blocks are still being read, waiting for a worker or waiting for it.
func TestJSONLReaderStopsItsWorkers(t *testing.T) {
	input := strings.Repeat("{\"a\":1}\n", 10_000)
	for _, rows := range []int{0, 1, 100, 9_999} {
		r := newJSONLReader(nil, scanner(input), 4, 3)
		for range rows {
			_, _, err := r.next()
			require.NoError(t, err)
		}
		done := make(chan error)
		go func() { done <- r.close() }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Fatalf("close after %d rows did not return", rows)
		}
	}
}

// TestJSONLReadErrorComesAfterTheLinesBeforeIt: a line too long for the
// scanner ends the file with an error on its line, once every line before
// it has been read.
func TestJSONLReadErrorComesAfterTheLinesBeforeIt(t *testing.T) {
	t.Parallel()
	input := "{\"a\":1}\n\n{\"a\":2}\n{\"a\":\"" + strings.Repeat("x", 100) + "\"}\n"
	sc := bufio.NewScanner(strings.NewReader(input))
	sc.Buffer(make([]byte, 16), 64)
	r := newJSONLReader(nil, sc, 1, 2)
	defer func() { require.NoError(t, r.close()) }()
	for _, want := range []int{1, 3} {
		line, _, err := r.next()
		require.NoError(t, err)
		require.Equal(t, want, line)
	}
	line, _, err := r.next()
	require.ErrorIs(t, err, bufio.ErrTooLong)
	require.Equal(t, 4, line)
}

func FuzzJSONLReader(f *testing.F) {
	for _, c := range jsonlCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, input string) {
		for _, sp := range jsonlSplits {
			got, want := bothJSONL(t, input, sp.blockLines, sp.workers)
			require.Equal(t, want, got, "input %q, %d lines a block, %d workers", input, sp.blockLines, sp.workers)
		}
	})
}

// oldBadText is badText before its ASCII fast path, the oracle of
// FuzzBadText.
func oldBadText(s string) (int, string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x at byte %d)", s[i], i+1)
		case r == utf8.RuneError:
			return i, fmt.Sprintf("U+FFFD replacement character at byte %d (the text was damaged before it got here)", i+1)
		case r == 0:
			return i, fmt.Sprintf("NUL byte at byte %d", i+1)
		}
		i += n
	}
	return -1, ""
}

// FuzzBadText: the ASCII fast paths (in badText, and plainASCII before
// a raw JSON value is checked) decide as decoding every rune did.
func FuzzBadText(f *testing.F) {
	for _, s := range []string{"", "plain", "caf\u00e9", "a\x00b", "x\xffy", "\uFFFD", "\xed\xa0\x80", "ok\u0e01\u0e02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, msg := badText(s)
		wantAt, wantMsg := oldBadText(s)
		require.Equal(t, wantAt, at)
		require.Equal(t, wantMsg, msg)
		if plainASCII([]byte(s)) {
			require.Equal(t, -1, wantAt)
		}
	})
}

// TestInLineKeepsTheLineOrCopies: a value is the line's own bytes when
// they are the value at the tokenizer's offset, and a copy of the value
// otherwise (an offset off the line, or other bytes there).
func TestInLineKeepsTheLineOrCopies(t *testing.T) {
	t.Parallel()
	line := []byte(`{"a":"xy","b":12}`)
	for _, c := range []struct {
		name   string
		v      string
		end    int
		inLine bool
	}{
		{"the value at its offset", `"xy"`, 9, true},
		{"the last value", `12`, 16, true},
		{"other bytes there", `"xz"`, 9, false},
		{"an offset before the value fits", `"xy"`, 2, false},
		{"an offset past the line", `12`, 40, false},
	} {
		v := []byte(c.v)
		got := inLine(line, v, c.end)
		require.Equal(t, c.v, string(got), c.name)
		start := c.end - len(v)
		shares := start >= 0 && c.end <= len(line) && &got[0] == &line[start]
		require.Equal(t, c.inLine, shares, c.name)
	}
}
