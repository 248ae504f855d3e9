package benchmark

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/marcboeker/go-duckdb"

	"github.com/tactcdp/tact/engine"
)

// openDuckDB opens a plain DuckDB database file, the references' engine:
// the same go-duckdb as Tact's store.
func openDuckDB(path string) (*sql.DB, error) {
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// toParquet converts a CSV file to Parquet with DuckDB's COPY.
func toParquet(ctx context.Context, t task) (childOutput, error) {
	db, err := openDuckDB("")
	if err != nil {
		return childOutput{}, err
	}
	defer db.Close()
	q := fmt.Sprintf("COPY (SELECT * FROM read_csv(%s)) TO %s (FORMAT parquet)", sqlString(t.File), sqlString(t.Out))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return childOutput{}, fmt.Errorf("convert %s to parquet: %w", filepath.Base(t.File), err)
	}
	return childOutput{}, nil
}

// importTact times Store.Import of one file into a fresh database, until
// the store is closed (the data is in the file).
func importTact(ctx context.Context, t task) (childOutput, error) {
	st, err := engine.Open(ctx, t.DB, engine.Options{})
	if err != nil {
		return childOutput{}, err
	}
	mem, threads, err := duckdbSettings(ctx, st.DB())
	if err != nil {
		_ = st.Close()
		return childOutput{}, err
	}
	start := time.Now()
	if _, err := st.Import(ctx, engine.ImportKind(t.Kind), t.File); err != nil {
		_ = st.Close()
		return childOutput{}, err
	}
	if err := st.Close(); err != nil {
		return childOutput{}, err
	}
	s := newSide("tact import "+t.Kind, UnitRows, t.Rows, time.Since(start).Seconds())
	s.MemoryLimit, s.Threads = mem, threads
	return single(s), nil
}

// readerFor is the DuckDB table function that reads the file by its
// extension.
func readerFor(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "read_csv", nil
	case ".jsonl", ".json":
		return "read_json", nil
	case ".parquet":
		return "read_parquet", nil
	}
	return "", fmt.Errorf("%s: no DuckDB reader for this extension", path)
}

// importReference times DuckDB loading the same file into a table of a
// fresh database file, with the settings Tact's store ran with.
func importReference(ctx context.Context, t task) (childOutput, error) {
	reader, err := readerFor(t.File)
	if err != nil {
		return childOutput{}, err
	}
	db, err := openDuckDB(t.DB)
	if err != nil {
		return childOutput{}, err
	}
	if err := applySettings(ctx, db, t.MemoryLimit, t.Threads); err != nil {
		_ = db.Close()
		return childOutput{}, err
	}
	mem, threads, err := duckdbSettings(ctx, db)
	if err != nil {
		_ = db.Close()
		return childOutput{}, err
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE t AS SELECT * FROM %s(%s)", reader, sqlString(t.File))); err != nil {
		_ = db.Close()
		return childOutput{}, fmt.Errorf("%s(%s): %w", reader, filepath.Base(t.File), err)
	}
	if err := db.Close(); err != nil {
		return childOutput{}, err
	}
	s := newSide("duckdb "+reader+" of the same file into a table", UnitRows, t.Rows, time.Since(start).Seconds())
	s.MemoryLimit, s.Threads = mem, threads
	return single(s), nil
}
