package engine

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/marcboeker/go-duckdb"
)

// cell is one field of an input row. CSV fields arrive as text; JSON fields
// as raw JSON; Parquet and in-memory fields as typed Go values.
type cell struct {
	present bool
	text    string          // CSV text
	raw     json.RawMessage // JSONL value
	val     any             // typed value (Parquet, API)
	kind    cellKind
}

type cellKind uint8

const (
	cellText cellKind = iota
	cellJSON
	cellTyped
)

// rowReader yields rows whose cells line up with header(), which may grow as
// new keys appear (JSONL). next returns io.EOF after the last row.
type rowReader interface {
	header() []string
	next() (line int, cells []cell, err error)
	// pos is the line and 1-based column of field i of the last row; column
	// 0 when the format has none (JSON names the field instead).
	pos(i int) (line, col int)
	close() error
}

// source is a named input that can be read more than once.
type source interface {
	name() string
	open(ctx context.Context) (rowReader, error)
}

// fileSource opens .csv, .jsonl/.ndjson and .parquet files.
type fileSource struct {
	path string
	db   *sql.DB
	opts importOptions
}

func (f fileSource) name() string { return f.path }

func (f fileSource) open(ctx context.Context) (rowReader, error) {
	switch strings.ToLower(filepath.Ext(f.path)) {
	case ".csv":
		return openCSV(f.path, f.opts)
	case ".jsonl", ".ndjson":
		return openJSONL(f.path, f.opts)
	case ".parquet":
		return openParquet(ctx, f.db, f.path)
	}
	return nil, fmt.Errorf("%s: unsupported file type (want .csv, .jsonl or .parquet)", f.path)
}

type csvReader struct {
	f    *os.File
	r    *csv.Reader
	cols []string
}

func openCSV(path string, opts importOptions) (rowReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReaderSize(readWithProgress(f, opts), 1<<20))
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: empty file, no header", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cols := slices.Clone(hdr)
	if len(cols) > 0 {
		cols[0] = strings.TrimPrefix(cols[0], "\ufeff")
	}
	return &csvReader{f: f, r: r, cols: cols}, nil
}

func (c *csvReader) header() []string { return c.cols }

func (c *csvReader) next() (int, []cell, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return pe.Line, nil, fmt.Errorf("wrong number of fields (the header has %d)", len(c.cols))
			}
			return pe.Line, nil, fmt.Errorf("column %d: %w", pe.Column, pe.Err)
		}
		return 0, nil, err
	}
	line, _ := c.r.FieldPos(0)
	cells := make([]cell, len(rec))
	for i, v := range rec {
		cells[i] = cell{present: v != "", text: v, kind: cellText}
	}
	return line, cells, nil
}

func (c *csvReader) pos(i int) (int, int) { return c.r.FieldPos(i) }

func (c *csvReader) close() error { return c.f.Close() }

// parquetReader reads a Parquet file through DuckDB; the row number stands
// in for the line.
type parquetReader struct {
	rows *sql.Rows
	cols []string
	line int
}

func openParquet(ctx context.Context, db *sql.DB, path string) (rowReader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT * FROM read_parquet(?)`, path) //nolint:rowserrcheck,sqlclosecheck // the reader owns the rows: its close checks Err
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		_ = rows.Close() //nolint:sqlclosecheck // on success the reader owns the rows
		return nil, err
	}
	return &parquetReader{rows: rows, cols: cols}, nil
}

func (p *parquetReader) header() []string { return p.cols }

func (p *parquetReader) next() (int, []cell, error) {
	if !p.rows.Next() {
		if err := p.rows.Err(); err != nil {
			return p.line + 1, nil, err
		}
		return 0, nil, io.EOF
	}
	p.line++
	vals := make([]any, len(p.cols))
	ptrs := make([]any, len(p.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := p.rows.Scan(ptrs...); err != nil {
		return p.line, nil, err
	}
	cells := make([]cell, len(vals))
	for i, v := range vals {
		v = plainValue(v)
		cells[i] = cell{present: v != nil, val: v, kind: cellTyped}
	}
	return p.line, cells, nil
}

// plainValue maps DuckDB's Go values onto the few kinds the importer
// types: int64, float64, bool, string, time.Time, []any and maps.
func plainValue(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case float32:
		return float64(x)
	case duckdb.Decimal:
		return x.Float64()
	case []byte:
		return string(x)
	case duckdb.UUID:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainValue(e)
		}
		return out
	}
	return v
}

func (p *parquetReader) pos(int) (int, int) { return p.line, 0 }

func (p *parquetReader) close() error { return p.rows.Close() }

// memSource is rows built in memory (the HTTP API): column name to a value
// of type string, bool, int64, float64, json.Number, time.Time, []any,
// map[string]any, or nil.
type memSource struct {
	label string
	rows  []map[string]any
	// lines numbers the rows in errors when they are some of a larger
	// input's (nil: 1, 2, 3, …).
	lines []int
}

func (m memSource) name() string { return m.label }

func (m memSource) open(context.Context) (rowReader, error) {
	return &memReader{rows: m.rows, lines: m.lines, idx: map[string]int{}}, nil
}

type memReader struct {
	rows  []map[string]any
	lines []int
	i     int
	cols  []string
	idx   map[string]int
}

func (m *memReader) header() []string { return m.cols }

func (m *memReader) next() (int, []cell, error) {
	if m.i == len(m.rows) {
		return 0, nil, io.EOF
	}
	row := m.rows[m.i]
	m.i++
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := m.idx[k]; !ok {
			m.idx[k] = len(m.cols)
			m.cols = append(m.cols, k)
		}
	}
	cells := make([]cell, len(m.cols))
	for k, v := range row {
		cells[m.idx[k]] = cell{present: v != nil, val: v, kind: cellTyped}
	}
	return m.line(), cells, nil
}

// line is the number of the row read last.
func (m *memReader) line() int {
	if m.lines != nil {
		return m.lines[m.i-1]
	}
	return m.i
}

func (m *memReader) pos(int) (int, int) { return m.line(), 0 }

func (m *memReader) close() error { return nil }

// cellString returns a cell's value as text for identifier and other
// string-typed fields; ok is false for values that are not scalars.
func cellString(c cell) (string, bool) {
	switch c.kind {
	case cellText:
		return c.text, true
	case cellJSON:
		if s, ok := plainJSONString(c.raw); ok {
			return s, true
		}
		var s string
		if json.Unmarshal(c.raw, &s) == nil {
			return s, true
		}
		switch c.raw[0] {
		case '{', '[':
			return "", false
		}
		return string(c.raw), true
	default:
		switch v := c.val.(type) {
		case string:
			return v, true
		case json.Number:
			return v.String(), true
		case time.Time:
			return v.UTC().Format(time.RFC3339Nano), true
		case []any, map[string]any:
			return "", false
		default:
			return fmt.Sprint(v), true
		}
	}
}

// plainJSONString returns the text of a JSON string literal that needs no
// unescaping, without a second decode; the line was validated when read.
func plainJSONString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') >= 0 {
		return "", false
	}
	return string(body), true
}

// cellTime parses a timestamp field: RFC 3339 or a date.
func cellTime(c cell) (time.Time, error) {
	if c.kind == cellTyped {
		if t, ok := c.val.(time.Time); ok {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	s, ok := cellString(c)
	if !ok {
		return time.Time{}, errors.New("want an RFC 3339 timestamp or a date")
	}
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp or a date", s)
	}
	return t, nil
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Truncate(time.Microsecond), true
	}
	if len(s) == 10 {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
