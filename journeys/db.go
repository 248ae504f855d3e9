package journeys

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/marcboeker/go-duckdb"
)

//go:embed queries.sql
var queriesSQL string

var queries = mustBlocks(queriesSQL)

// q returns the named SQL block of queries.sql.
func q(name string) string {
	s, ok := queries[name]
	if !ok {
		panic("journeys: no sql block named " + name) // caught by every test
	}
	return s
}

// mustBlocks splits a .sql file into named blocks ("-- name: NAME" lines,
// listmonk style); other comment lines are dropped.
func mustBlocks(src string) map[string]string {
	blocks := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() {
		if name != "" {
			if _, dup := blocks[name]; dup {
				panic("journeys: sql block defined twice: " + name)
			}
			blocks[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, "-- name:"); ok {
			flush()
			name = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(t, "--") {
			continue
		}
		if name != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	flush()
	return blocks
}

// tx is one write transaction on a dedicated connection.
type tx struct {
	ctx   context.Context
	conn  *sql.Conn
	temps []string
	trace io.Writer // Config.Trace
}

// write runs fn in one transaction, serialised with the runner's other
// writes. Temp tables created with t.temp are dropped afterwards.
func (r *Runner) write(ctx context.Context, fn func(t *tx) error) (err error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	t := &tx{ctx: ctx, conn: conn, trace: r.cfg.Trace}
	defer func() {
		for _, name := range t.temps {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp."+name)
		}
	}()
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
	if r.cfg.Trace != nil {
		start := time.Now()
		defer func() {
			fmt.Fprintf(r.cfg.Trace, "%8.2fms %.60q\n", float64(time.Since(start).Microseconds())/1000, "COMMIT")
		}()
	}
	if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (t *tx) exec(query string, args ...any) (int64, error) {
	if t.trace != nil {
		start := time.Now()
		defer func() {
			fmt.Fprintf(t.trace, "%8.2fms %.60q\n", float64(time.Since(start).Microseconds())/1000, query)
		}()
	}
	res, err := t.conn.ExecContext(t.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (t *tx) temp(name, columns string) error {
	if _, err := t.exec(fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", name, columns)); err != nil {
		return err
	}
	t.temps = append(t.temps, name)
	return nil
}

const appendFlushRows = 100_000

// appendRows bulk-loads rows into table with DuckDB's Appender.
func (t *tx) appendRows(table string, rows [][]driver.Value) error {
	if len(rows) == 0 {
		return nil
	}
	return t.conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appender %s: %w", table, err)
		}
		for i, row := range rows {
			if err := app.AppendRow(row...); err != nil {
				app.Close()
				return fmt.Errorf("append %s: %w", table, err)
			}
			if (i+1)%appendFlushRows == 0 {
				if err := app.Flush(); err != nil {
					app.Close()
					return fmt.Errorf("flush %s: %w", table, err)
				}
			}
		}
		return app.Close()
	})
}

func nullTime(t interface{ IsZero() bool }) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
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
