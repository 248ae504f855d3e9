package engine

import (
	"bytes"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/marcboeker/go-duckdb"

	"github.com/tactcdp/tact/internal/dbtx"
)

// The distinct identifier sets of an events or consents file are collected
// in DuckDB, not in Go: while the file is read, each row whose set differs
// from the row before's appends that set to _idrows (files list a person's
// rows together, so this is about one row per person), and SQL then keeps
// each set once, in order of first appearance (id-sets). Go holds one set
// at a time, whatever the file's size: the sets of a 5.3M-entry consents
// file held 400 to 550 MB of Go heap while DuckDB filled its memory_limit.

// idRowsTable stages the identifier sets of a file's rows.
const idRowsTable = "_idrows"

// idRowColumns are _idrows' columns: the row the set was read on, its
// line, and one column per identity kind.
func idRowColumns() string {
	cols := []string{"_row BIGINT", "_line BIGINT"}
	for _, k := range IdentityKinds() {
		cols = append(cols, k+" VARCHAR")
	}
	return strings.Join(cols, ", ")
}

// stagedRow is one input row as staged: its values for the row stage and,
// when its identifier set differs from the previous row's, that set's row
// of _idrows (nil otherwise).
type stagedRow struct {
	values []driver.Value
	idSet  []driver.Value
}

// idSetRuns finds the rows whose identifier set differs from the row
// before's.
type idSetRuns struct {
	prev, cur []byte // tupleKey encodings
	started   bool
}

// next returns the _idrows row of the set ids read on row row (line line),
// or nil when the previous row had the same set.
func (r *idSetRuns) next(ids [numKinds]string, row, line int) []driver.Value {
	r.cur = tupleKey(r.cur[:0], ids)
	if r.started && bytes.Equal(r.cur, r.prev) {
		return nil
	}
	r.started = true
	r.prev, r.cur = r.cur, r.prev
	out := make([]driver.Value, 0, 2+numKinds)
	out = append(out, int64(row), int64(line))
	for _, v := range ids {
		out = append(out, nullable(v))
	}
	return out
}

// appendStaged bulk-loads the rows next returns (ok false when done) into
// table and their identifier sets into _idrows, with one Appender each on
// the write's connection, both flushed every dbtx.FlushRows rows.
func appendStaged(w *writer, table string, next func() (stagedRow, bool)) error {
	if err := w.temp(idRowsTable, idRowColumns()); err != nil {
		return err
	}
	return w.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("appender %s: not a driver connection", table)
		}
		rows, err := duckdb.NewAppenderFromConn(conn, "", table)
		if err != nil {
			return fmt.Errorf("appender %s: %w", table, err)
		}
		sets, err := duckdb.NewAppenderFromConn(conn, "", idRowsTable)
		if err != nil {
			return errors.Join(fmt.Errorf("appender %s: %w", idRowsTable, err), rows.Close())
		}
		err = feedStaged(rows, sets, table, next)
		return errors.Join(err, rows.Close(), sets.Close())
	})
}

func feedStaged(rows, sets *duckdb.Appender, table string, next func() (stagedRow, bool)) error {
	for n := 1; ; n++ {
		r, ok := next()
		if !ok {
			return nil
		}
		if err := rows.AppendRow(r.values...); err != nil {
			return fmt.Errorf("append %s: %w", table, err)
		}
		if r.idSet != nil {
			if err := sets.AppendRow(r.idSet...); err != nil {
				return fmt.Errorf("append %s: %w", idRowsTable, err)
			}
		}
		if n%dbtx.FlushRows == 0 {
			if err := errors.Join(rows.Flush(), sets.Flush()); err != nil {
				return fmt.Errorf("flush %s: %w", table, err)
			}
		}
	}
}

// stageIdentitySets stages one profile row per distinct identifier set of
// _idrows in _pstage (as stageIdentityOnly does: no traits, no recency)
// and returns the line each set first appears on, by stage row.
func (s *Store) stageIdentitySets(w *writer) ([]int, error) {
	kinds := strings.Join(IdentityKinds(), ", ")
	if _, err := w.exec(fmt.Sprintf(s.query("id-sets"), kinds)); err != nil {
		return nil, fmt.Errorf("identifier sets: %w", err)
	}
	w.temps = append(w.temps, "_idsets")
	if _, err := w.exec(s.query("id-set-order")); err != nil {
		return nil, fmt.Errorf("identifier sets: %w", err)
	}
	w.temps = append(w.temps, "_idorder")
	if err := w.temp("_pstage", strings.Join(stageColumns(), ", ")); err != nil {
		return nil, err
	}
	const numbered = ` FROM _idsets s JOIN _idorder o USING (first_row)`
	if _, err := w.exec(fmt.Sprintf(`INSERT INTO _pstage SELECT o._row, NULL, %s, NULL`, kinds) + numbered); err != nil {
		return nil, fmt.Errorf("identifier sets: %w", err)
	}
	var n int
	if err := w.queryRow(`SELECT count(*) FROM _idorder`).Scan(&n); err != nil {
		return nil, err
	}
	lines := make([]int, n)
	err := s.readInts(w, `SELECT o._row, s._line`+numbered, func(v []int64) error {
		if v[0] < 0 || int(v[0]) >= n {
			return fmt.Errorf("identifier sets: row %d outside the %d sets", v[0], n)
		}
		lines[v[0]] = int(v[1])
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Resolution needs the memory more.
	if _, err := w.exec(`DROP TABLE _idorder; DROP TABLE _idsets; DROP TABLE ` + idRowsTable); err != nil {
		return nil, err
	}
	return lines, nil
}

// upsertIdentitySets resolves the identifier sets staged by stageIdentitySets
// (lines by stage row) and writes the profiles they make or touch.
func (s *Store) upsertIdentitySets(w *writer, lines []int, label string, res *ImportResult) error {
	return s.upsertStaged(w, "_pstage", nil, len(lines), func(row int) int { return lines[row] }, label, res)
}
