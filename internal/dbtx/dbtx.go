// Package dbtx is the database plumbing every package shares: the write
// transaction (one dedicated connection, BEGIN … COMMIT rolled back on any
// error, temp tables dropped afterwards, bulk loads through DuckDB's
// Appender flushed every FlushRows rows, as it keeps every row in memory
// until a flush), and reads that skip database/sql's per-value boxing
// (QueryArrow) or its boilerplate (QueryColumn).
package dbtx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/marcboeker/go-duckdb"
)

// FlushRows is how many rows Append buffers before a flush.
const FlushRows = 100_000

// Tx is one write transaction on a dedicated connection.
type Tx struct {
	Ctx  context.Context
	Conn *sql.Conn
	// Trace, when set, receives each statement's duration (debugging).
	Trace io.Writer

	temps []string
}

// Run runs fn in one transaction on a connection of db. The caller
// serialises writers. Temp tables created with Temp are dropped afterwards;
// if fn or the commit fails, the transaction is rolled back.
func Run(ctx context.Context, db *sql.DB, trace io.Writer, fn func(t *Tx) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	t := &Tx{Ctx: ctx, Conn: conn, Trace: trace}
	defer t.dropTemps()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	// The temp tables go inside the transaction, in one statement: dropped
	// after the commit, each DROP was a transaction of its own, and a
	// group commit of the ingestion made a few of them every time.
	if err = t.dropTempsNow(); err != nil {
		return err
	}
	defer t.trace(time.Now(), "COMMIT")
	if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (t *Tx) trace(start time.Time, query string) {
	if t.Trace != nil {
		fmt.Fprintf(t.Trace, "%8.2fms %.60q\n", float64(time.Since(start).Microseconds())/1000, query)
	}
}

// Exec runs a statement.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	defer t.trace(time.Now(), query)
	return t.Conn.ExecContext(t.Ctx, query, args...)
}

// Query runs a query.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return t.Conn.QueryContext(t.Ctx, query, args...)
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	return t.Conn.QueryRowContext(t.Ctx, query, args...)
}

// Temp creates (or replaces) a temp table dropped when the transaction
// ends. name and columns are code, never user text.
func (t *Tx) Temp(name, columns string) error {
	if _, err := t.Exec(fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", name, columns)); err != nil {
		return err
	}
	t.temps = append(t.temps, name)
	return nil
}

// DropAfter registers temp tables the caller created itself (CREATE TEMP
// TABLE … AS SELECT) to be dropped when the transaction ends.
func (t *Tx) DropAfter(names ...string) { t.temps = append(t.temps, names...) }

// dropTempsNow drops the temp tables in the open transaction.
func (t *Tx) dropTempsNow() error {
	if len(t.temps) == 0 {
		return nil
	}
	var b strings.Builder
	for _, name := range t.temps {
		b.WriteString("DROP TABLE IF EXISTS temp.")
		b.WriteString(name)
		b.WriteString(";\n")
	}
	if _, err := t.Exec(b.String()); err != nil {
		return fmt.Errorf("drop temp tables: %w", err)
	}
	t.temps = nil
	return nil
}

// dropTemps drops what is left of the temp tables after the transaction
// ended without dropping them (it failed or was rolled back).
func (t *Tx) dropTemps() {
	for _, name := range t.temps {
		_, _ = t.Conn.ExecContext(context.WithoutCancel(t.Ctx), "DROP TABLE IF EXISTS temp."+name)
	}
}

// Append bulk-loads rows into table on t's connection; see Append.
func (t *Tx) Append(table string, next func() ([]driver.Value, error)) (int, error) {
	return Append(t.Conn, table, next)
}

// AppendSlice is Append over an in-memory slice.
func (t *Tx) AppendSlice(table string, rows [][]driver.Value) error {
	return AppendSlice(t.Conn, table, rows)
}

// Append bulk-loads rows into table with DuckDB's Appender on conn, flushing
// every FlushRows rows. next returns the next row, or nil when done. It
// returns the number of rows appended.
func Append(conn *sql.Conn, table string, next func() ([]driver.Value, error)) (int, error) {
	n := 0
	err := conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appender %s: %w", table, err)
		}
		for {
			row, err := next()
			if err != nil {
				app.Close()
				return err
			}
			if row == nil {
				break
			}
			if err := app.AppendRow(row...); err != nil {
				app.Close()
				return fmt.Errorf("append %s: %w", table, err)
			}
			n++
			if n%FlushRows == 0 {
				if err := app.Flush(); err != nil {
					app.Close()
					return fmt.Errorf("flush %s: %w", table, err)
				}
			}
		}
		return app.Close()
	})
	return n, err
}

// AppendN appends n rows built by row(i), i in [0, n).
func AppendN(conn *sql.Conn, table string, n int, row func(i int) []driver.Value) error {
	if n == 0 {
		return nil
	}
	i := 0
	_, err := Append(conn, table, func() ([]driver.Value, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	})
	return err
}

// AppendSlice is Append over an in-memory slice (nothing to do when empty).
func AppendSlice(conn *sql.Conn, table string, rows [][]driver.Value) error {
	return AppendN(conn, table, len(rows), func(i int) []driver.Value { return rows[i] })
}
