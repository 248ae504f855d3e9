package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// jsonlReader reads a JSON Lines file: one object per line, its keys the
// columns (the header grows as new keys appear, in sorted order per line).
// Each line is read in one pass with jsontext's tokenizer, which checks the
// syntax as it splits the object into its keys and raw values; decoding a
// line into a map with encoding/json scanned it twice and allocated per
// key, 40 % of a large events import's CPU.
//
// The split runs on every core (source_jsonl_blocks.go): it was a third
// of the one goroutine that feeds an import's stage, and lines do not
// depend on each other. What does depend on the lines before (the header,
// the line numbers, the first error) stays here, in file order.
type jsonlReader struct {
	blocks *jsonlBlocks
	cur    *jsonlBlock
	k      int // the next line of cur
	line   int
	cols   []string
	idx    map[string]int
	added  []string // keys first seen on the current line, reused
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
	return newJSONLReader(f, sc, jsonlBlockLines, runtime.GOMAXPROCS(0)), nil
}

// newJSONLReader reads the lines sc yields, blockLines at a time split by
// workers goroutines; f, when not nil, is closed with the reader.
func newJSONLReader(f io.Closer, sc *bufio.Scanner, blockLines, workers int) *jsonlReader {
	return &jsonlReader{blocks: startJSONLBlocks(f, sc, blockLines, workers), idx: map[string]int{}}
}

func (j *jsonlReader) header() []string { return j.cols }

func (j *jsonlReader) next() (int, []cell, error) {
	for j.cur == nil || j.k == len(j.cur.lines) {
		b, ok := j.blocks.next()
		if !ok {
			return 0, nil, io.EOF
		}
		if b.readErr != nil {
			return b.readErrLine, nil, b.readErr
		}
		j.cur, j.k = b, 0
	}
	l := &j.cur.lines[j.k]
	j.k++
	j.line = l.no
	if l.err != nil {
		return j.line, nil, l.err
	}
	if l.null {
		// encoding/json decoded a null line into no fields at all.
		return j.line, make([]cell, len(j.cols)), nil
	}
	pairs := j.cur.pairs[l.lo:l.hi]
	j.added = j.added[:0]
	for _, p := range pairs {
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
	for _, p := range pairs {
		cells[j.idx[p.key]] = cell{present: !bytes.Equal(p.raw, []byte("null")), raw: p.raw, kind: cellJSON}
	}
	return j.line, cells, nil
}

// jsonlSplitter splits lines into keys and raw values; one per worker.
type jsonlSplitter struct {
	dec  *jsontext.Decoder
	opts []jsontext.Options
	in   bytes.Reader
}

func newJSONLSplitter() *jsonlSplitter {
	// encoding/json's rules for a line: a repeated key's last value wins,
	// and invalid UTF-8 is left for the row's checks to report with its
	// column.
	opts := []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
	sp := &jsonlSplitter{opts: opts}
	sp.dec = jsontext.NewDecoder(&sp.in, opts...)
	return sp
}

// split reads line b (trimmed, not empty) and appends its keys and values
// to pairs. null is true for a line that is just null. Each raw value is
// the line's own bytes (the tokenizer hands back its input verbatim), so
// the values cost no copy: they live as long as the block holding b.
func (sp *jsonlSplitter) split(b []byte, pairs []jsonlPair) (_ []jsonlPair, null bool, err error) {
	sp.in.Reset(b)
	sp.dec.Reset(&sp.in, sp.opts...)
	switch sp.dec.PeekKind() {
	case '{':
	case 'n':
		if _, err := sp.dec.ReadToken(); err != nil {
			return pairs, false, syntaxError(err)
		}
		return pairs, true, sp.atEnd(len(b))
	case 0:
		_, err := sp.dec.ReadToken()
		return pairs, false, syntaxError(err)
	default:
		if _, err := sp.dec.ReadValue(); err != nil {
			return pairs, false, syntaxError(err)
		}
		if err := sp.atEnd(len(b)); err != nil {
			return pairs, false, err
		}
		return pairs, false, errors.New("want one JSON object per line")
	}
	if _, err := sp.dec.ReadToken(); err != nil {
		return pairs, false, syntaxError(err)
	}
	for sp.dec.PeekKind() != '}' {
		name, err := sp.dec.ReadToken()
		if err != nil {
			return pairs, false, syntaxError(err)
		}
		key := name.String()
		v, err := sp.dec.ReadValue()
		if err != nil {
			return pairs, false, syntaxError(err)
		}
		pairs = append(pairs, jsonlPair{key: key, raw: inLine(b, v, int(sp.dec.InputOffset()))})
	}
	if _, err := sp.dec.ReadToken(); err != nil {
		return pairs, false, syntaxError(err)
	}
	return pairs, false, sp.atEnd(len(b))
}

// inLine is value v, which the tokenizer read up to offset end of line
// b, as b's own bytes. Should v not be b's bytes there after all, it is a
// copy (the tokenizer's buffer is reused by its next read).
func inLine(b, v []byte, end int) []byte {
	if start := end - len(v); start >= 0 && end <= len(b) && bytes.Equal(b[start:end], v) {
		return b[start:end:end]
	}
	return bytes.Clone(v)
}

// atEnd reports text after the line's one value (encoding/json refused a
// second value on a line, where a JSON stream allows it).
func (sp *jsonlSplitter) atEnd(n int) error {
	if off := sp.dec.InputOffset(); off != int64(n) {
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

func (j *jsonlReader) close() error { return j.blocks.close() }
