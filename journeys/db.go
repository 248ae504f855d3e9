package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"fmt"
	"time"

	"github.com/tactcdp/tact/internal/dbtx"
	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed queries.sql
var queriesSQL string

// queries are the named blocks of queries.sql, parsed once: the file is
// part of the binary, so a parse error fails every test at once.
var queries = func() map[string]string { //nolint:gochecknoglobals // read-only after initialisation
	b, err := sqlblock.Parse(queriesSQL)
	if err != nil {
		panic("journeys: " + err.Error())
	}
	return b
}()

// q returns the named SQL block of queries.sql.
func q(name string) string {
	s, ok := queries[name]
	if !ok {
		panic("journeys: no sql block named " + name) // caught by every test
	}
	return s
}

// eachRow runs query on q and calls scan for every row; the rows are
// closed and their Err checked, so a cut-short read is an error.
func eachRow(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// tx is the runner's write transaction: a dbtx.Tx with the method names
// journeys code uses.
type tx struct {
	ctx  context.Context
	conn *sql.Conn
	t    *dbtx.Tx
}

// write runs fn in one transaction, serialised with the runner's other
// writes. Temp tables created with t.temp are dropped afterwards.
func (r *Runner) write(ctx context.Context, fn func(t *tx) error) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	return dbtx.Run(ctx, r.db, r.cfg.Trace, func(t *dbtx.Tx) error {
		return fn(&tx{ctx: t.Ctx, conn: t.Conn, t: t})
	})
}

// exec runs a statement and returns the rows it affected.
func (t *tx) exec(query string, args ...any) (int64, error) {
	res, err := t.t.Exec(query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// temp creates a temp table dropped when the transaction ends.
func (t *tx) temp(name, columns string) error { return t.t.Temp(name, columns) }

// appendRows bulk-loads rows into table with DuckDB's Appender.
func (t *tx) appendRows(table string, rows [][]driver.Value) error {
	return t.t.AppendSlice(table, rows)
}

func nullStr(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// tracef writes how long a phase took to Config.Trace, a profiling aid.
func (r *Runner) tracef(what string, start time.Time) {
	if r.cfg.Trace != nil {
		fmt.Fprintf(r.cfg.Trace, "%8.2fms %.60q\n", float64(time.Since(start).Microseconds())/1000, what)
	}
}
