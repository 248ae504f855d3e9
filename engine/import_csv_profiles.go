package engine

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// The set-based profile import of CSV files: DuckDB parses the file into a
// table of text columns, the importer's rules run once per distinct value
// of a column (not once per row), and the staged rows are built with one
// INSERT … SELECT joining those results back. Whenever the file is not
// plainly valid (a rule refuses a value, a field spans lines, the file has
// blank lines or a quote in an unquoted field), this path gives way to the
// row-by-row reader, which either imports the file or names the first bad
// line and column: error messages have one source.

// slowPath says why the set-based path gave way to the row-by-row one.
type slowPath struct{ why string }

func (e *slowPath) Error() string { return "row-by-row import: " + e.why }

func giveWay(format string, args ...any) error { return &slowPath{why: fmt.Sprintf(format, args...)} }

// csvShape is what the importer needs from a CSV file before DuckDB reads
// it: its header and how its lines are laid out.
type csvShape struct {
	header *header
	lines  int  // lines, counting a last line without a newline
	crOnly bool // a carriage return not followed by a newline
	// ragged: a line without quotes has not the header's number of fields.
	// DuckDB reads a trailing empty field too many as the end of the row,
	// where the row reader refuses the row.
	ragged bool
}

// readCSVShape checks the header with the row-by-row rules and counts the
// file's lines, so that row i of DuckDB's reading is line i+2 of the file.
func readCSVShape(path string, kind ImportKind, opts importOptions) (csvShape, error) {
	h := newHeader(path, kind)
	r, err := openCSV(path, importOptions{})
	if err != nil {
		return csvShape{}, giveWay("header: %v", err)
	}
	defer func() { _ = r.close() }()
	if err := h.update(r.header(), r.pos); err != nil {
		return csvShape{}, giveWay("header: %v", err)
	}
	for i := range r.header() {
		if line, _ := r.pos(i); line != 1 {
			return csvShape{}, giveWay("the header spans lines")
		}
	}
	if !h.hasIdentity() {
		return csvShape{}, giveWay("no identity column")
	}
	f, err := os.Open(path)
	if err != nil {
		return csvShape{}, err
	}
	defer f.Close()
	shape, err := countLines(readWithProgress(f, opts), len(h.names))
	shape.header = h
	return shape, err
}

// countLines counts lines (a last line without a newline counts) and says
// whether a carriage return stands alone (a line break DuckDB and the row
// reader may count differently) and whether a line without quotes has
// other than fields fields.
func countLines(r io.Reader, fields int) (csvShape, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	buf := make([]byte, 1<<20)
	lines, last := 0, byte('\n')
	prevCR, crOnly := false, false
	commas, quoted, ragged := 0, false, false
	for {
		n, err := br.Read(buf)
		for _, b := range buf[:n] {
			if prevCR && b != '\n' {
				crOnly = true
			}
			prevCR = b == '\r'
			switch b {
			case '\n':
				lines++
				ragged = ragged || !quoted && commas != fields-1
				commas, quoted = 0, false
			case ',':
				commas++
			case '"':
				quoted = true
			}
		}
		if n > 0 {
			last = buf[n-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return csvShape{}, err
		}
	}
	if prevCR {
		crOnly = true
	}
	if last != '\n' {
		lines++
		ragged = ragged || !quoted && commas != fields-1
	}
	return csvShape{lines: lines, crOnly: crOnly, ragged: ragged}, nil
}

// rawColumn is the name of input column i in the _raw table.
func rawColumn(i int) string { return fmt.Sprintf("c%d", i) }

// loadRawCSV reads the file into _raw (one VARCHAR column per input
// column, an empty field is NULL, rows in file order) and returns the row
// count and the SQL of a row's number from 0 over _raw as r. It gives way
// when the rows do not line up with the file's lines or a field holds text
// the row reader would refuse or read differently.
func (s *Store) loadRawCSV(w *writer, path string, shape csvShape) (n int, rowNo string, err error) {
	names := shape.header.names
	cols := make([]string, len(names))
	for i := range names {
		cols[i] = fmt.Sprintf("'%s': 'VARCHAR'", rawColumn(i))
	}
	q := fmt.Sprintf(s.query("read-csv-raw"), "{"+strings.Join(cols, ", ")+"}")
	if _, err := w.exec(q, path); err != nil {
		return 0, "", giveWay("DuckDB could not read the file (its message, which may quote a row, is not kept)")
	}
	w.temps = append(w.temps, "_raw")
	// _raw was written in file order, so its row ids count the rows from
	// the first one's (which is not 0 inside a transaction).
	var first int64
	if err := w.queryRow(`SELECT count(*), coalesce(min(rowid), 0) FROM _raw`).Scan(&n, &first); err != nil {
		return 0, "", err
	}
	if n == 0 || shape.crOnly || shape.lines != n+1 {
		return 0, "", giveWay("rows do not line up with lines")
	}
	if shape.ragged {
		return 0, "", giveWay("a line has not the header's number of fields")
	}
	// A NUL byte or a replacement character sends the file to the row
	// reader, which names the place.
	var odd, quoted []string
	for i := range names {
		c := rawColumn(i)
		odd = append(odd, fmt.Sprintf(`strpos(%[1]s, chr(0)) > 0 OR strpos(%[1]s, chr(65533)) > 0`, c))
		quoted = append(quoted, fmt.Sprintf(`strpos(%s, '"') > 0`, c))
	}
	var bad, hasQuote bool
	if err := w.queryRow(fmt.Sprintf(`SELECT coalesce(bool_or(%s), false), coalesce(bool_or(%s), false) FROM _raw`,
		strings.Join(odd, " OR "), strings.Join(quoted, " OR "))).Scan(&bad, &hasQuote); err != nil {
		return 0, "", err
	}
	if bad {
		return 0, "", giveWay("a field holds a NUL byte or a replacement character")
	}
	// DuckDB accepts a quote inside an unquoted field, which the row
	// reader refuses; the value alone does not tell, so a file with quotes
	// in its values is tokenised once more by the row reader's parser.
	if hasQuote {
		if err := strictCSV(path, len(names)); err != nil {
			return 0, "", err
		}
	}
	return n, fmt.Sprintf("(r.rowid - %d)", first), nil
}

// strictCSV reads the file with the row reader's CSV parser, giving way on
// anything it refuses.
func strictCSV(path string, fields int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	r.FieldsPerRecord = fields
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return giveWay("the CSV parser refuses a row")
		}
	}
}

// distinctText returns the distinct non-missing values of a query's single
// text column, read as Arrow batches (no boxing per value).
func distinctText(w *writer, q string) ([]string, error) {
	var out []string
	err := dbtx.QueryArrow(w.ctx, w.conn, q, nil, func(rdr array.RecordReader) error {
		for rdr.Next() {
			rec := rdr.Record()
			col, ok := rec.Column(0).(*array.String)
			if !ok {
				return fmt.Errorf("distinct values: a column of type %s", rec.Column(0).DataType())
			}
			for i := range col.Len() {
				out = append(out, strings.Clone(col.Value(i))) // the batch is released after the read
			}
		}
		return nil
	})
	return out, err
}
