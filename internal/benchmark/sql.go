package benchmark

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"

	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed queries.sql
var queriesSQL string

// queries is the parsed queries.sql; a bad file is a build-time mistake
// that the package's tests catch.
func queries() map[string]string {
	q, err := sqlblock.Parse(queriesSQL)
	if err != nil {
		panic(err)
	}
	return q
}

// duckdbSettings reads the memory limit and thread count db runs with.
func duckdbSettings(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (memoryLimit string, threads int64, err error) {
	err = db.QueryRowContext(ctx, queries()["duckdb_settings"]).Scan(&memoryLimit, &threads)
	return memoryLimit, threads, err
}

// applySettings gives a reference connection the settings Tact's ran with.
func applySettings(ctx context.Context, db *sql.DB, memoryLimit string, threads int64) error {
	if memoryLimit != "" {
		if _, err := db.ExecContext(ctx, "SET memory_limit = "+sqlString(memoryLimit)); err != nil {
			return fmt.Errorf("memory_limit: %w", err)
		}
	}
	if threads > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
			return fmt.Errorf("threads: %w", err)
		}
	}
	return nil
}

// sqlString quotes s as a SQL string literal (for statements that take no
// bind parameters: SET, COPY, read_csv).
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
