package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// jsonlReader reads a JSON Lines file: one object per line, its keys the
// columns (the header grows as new keys appear, in sorted order per line).
// Each line is read in one pass with jsontext's tokenizer, which checks the
// syntax as it splits the object into its keys and raw values; decoding a
// line into a map with encoding/json scanned it twice and allocated per
// key, 40 % of a large events import's CPU.
type jsonlReader struct {
	f    *os.File
	sc   *bufio.Scanner
	line int
	cols []string
	idx  map[string]int

	dec   *jsontext.Decoder
	opts  []jsontext.Options
	in    bytes.Reader
	pairs []jsonlPair // the current line's keys and values, reused
	added []string    // keys first seen on the current line, reused
}

// jsonlPair is one key of a line and its raw value.
type jsonlPair struct {
	key string
	raw []byte
}

func openJSONL(path string, opts importOptions) (rowReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(readWithProgress(f, opts))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return newJSONLReader(f, sc), nil
}

func newJSONLReader(f *os.File, sc *bufio.Scanner) *jsonlReader {
	// encoding/json's rules for a line: a repeated key's last value wins,
	// and invalid UTF-8 is left for the row's checks to report with its
	// column.
	opts := []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
	j := &jsonlReader{f: f, sc: sc, idx: map[string]int{}, opts: opts}
	j.dec = jsontext.NewDecoder(&j.in, opts...)
	return j
}

func (j *jsonlReader) header() []string { return j.cols }

func (j *jsonlReader) next() (int, []cell, error) {
	for j.sc.Scan() {
		j.line++
		b := bytes.TrimSpace(j.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		null, err := j.split(b)
		if err != nil {
			return j.line, nil, err
		}
		if null {
			// encoding/json decoded a null line into no fields at all.
			return j.line, make([]cell, len(j.cols)), nil
		}
		j.added = j.added[:0]
		for _, p := range j.pairs {
			if _, ok := j.idx[p.key]; !ok && !slices.Contains(j.added, p.key) {
				j.added = append(j.added, p.key)
			}
		}
		slices.Sort(j.added)
		for _, k := range j.added {
			j.idx[k] = len(j.cols)
			j.cols = append(j.cols, k)
		}
		cells := make([]cell, len(j.cols))
		for _, p := range j.pairs {
			cells[j.idx[p.key]] = cell{present: !bytes.Equal(p.raw, []byte("null")), raw: p.raw, kind: cellJSON}
		}
		return j.line, cells, nil
	}
	if err := j.sc.Err(); err != nil {
		return j.line + 1, nil, err
	}
	return 0, nil, io.EOF
}

// split reads line b (trimmed, not empty) into j.pairs. null is true for a
// line that is just null.
func (j *jsonlReader) split(b []byte) (null bool, err error) {
	j.pairs = j.pairs[:0]
	j.in.Reset(b)
	j.dec.Reset(&j.in, j.opts...)
	switch j.dec.PeekKind() {
	case '{':
	case 'n':
		if _, err := j.dec.ReadToken(); err != nil {
			return false, syntaxError(err)
		}
		return true, j.atEnd(len(b))
	case 0:
		_, err := j.dec.ReadToken()
		return false, syntaxError(err)
	default:
		if _, err := j.dec.ReadValue(); err != nil {
			return false, syntaxError(err)
		}
		if err := j.atEnd(len(b)); err != nil {
			return false, err
		}
		return false, errors.New("want one JSON object per line")
	}
	if _, err := j.dec.ReadToken(); err != nil {
		return false, syntaxError(err)
	}
	// The values are copied as they are read (the tokenizer's buffer is
	// reused by its next read) into one allocation for the line: they
	// outlive this call, the scanner's buffer does not.
	buf := make([]byte, 0, len(b))
	for j.dec.PeekKind() != '}' {
		name, err := j.dec.ReadToken()
		if err != nil {
			return false, syntaxError(err)
		}
		key := name.String()
		v, err := j.dec.ReadValue()
		if err != nil {
			return false, syntaxError(err)
		}
		start := len(buf)
		buf = append(buf, v...)
		j.pairs = append(j.pairs, jsonlPair{key: key, raw: buf[start:len(buf):len(buf)]})
	}
	if _, err := j.dec.ReadToken(); err != nil {
		return false, syntaxError(err)
	}
	return false, j.atEnd(len(b))
}

// atEnd reports text after the line's one value (encoding/json refused a
// second value on a line, where a JSON stream allows it).
func (j *jsonlReader) atEnd(n int) error {
	if off := j.dec.InputOffset(); off != int64(n) {
		return fmt.Errorf("invalid JSON at byte %d: text after the object", off+1)
	}
	return nil
}

// syntaxError words a tokenizer error with the byte it was found at.
func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.ByteOffset+1, se.Err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func (j *jsonlReader) pos(int) (int, int) { return j.line, 0 }

func (j *jsonlReader) close() error { return j.f.Close() }
