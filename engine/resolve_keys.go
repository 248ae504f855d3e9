package engine

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// stageKeys gives every identifier of a profile stage (rows 0…n-1) a key id
// in DuckDB (_keys) and reads back, as integers only, each row's key
// ids and who already holds each key.
func (s *Store) stageKeys(w *writer, stage string, n int) ([]keyRecord, []holder, error) {
	kinds := IdentityKinds()
	parts := make([]string, len(kinds))
	names := make([]string, len(kinds))
	for k, kind := range kinds {
		parts[k] = fmt.Sprintf("SELECT _row, %d::UTINYINT AS k, %s AS value FROM %s WHERE %s IS NOT NULL", k, kind, stage, kind)
		names[k] = "'" + kind + "'"
	}
	union := strings.Join(parts, " UNION ALL ")
	if _, err := w.exec(fmt.Sprintf(s.query("stage-keys"), union, "["+strings.Join(names, ", ")+"]")); err != nil {
		return nil, nil, fmt.Errorf("identity keys: %w", err)
	}
	w.temps = append(w.temps, "_keys")
	var keys int
	if err := w.queryRow(`SELECT count(*) FROM _keys`).Scan(&keys); err != nil {
		return nil, nil, err
	}
	records := make([]keyRecord, n)
	err := s.readInts(w, fmt.Sprintf(s.query("key-occurrences"), union), func(v []int64) error {
		if v[0] < 0 || int(v[0]) >= n {
			return fmt.Errorf("identity keys: row %d outside the stage's %d rows", v[0], n)
		}
		records[v[0]][v[1]] = int32(v[2])
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	held := make([]holder, keys+1)
	err = s.readInts(w, s.query("key-holders"), func(v []int64) error {
		held[v[0]] = holder{profileID: v[1], uid: v[2]}
		return nil
	})
	return records, held, err
}

// readInts runs a query of integer columns inside the write and calls fn
// with each row's values, read as Arrow batches (no boxing per value).
func (s *Store) readInts(w *writer, q string, fn func(v []int64) error) error {
	return dbtx.QueryArrow(w.ctx, w.conn, q, nil, func(rdr array.RecordReader) error {
		for rdr.Next() {
			rec := rdr.Record()
			cols := make([]func(int) int64, rec.NumCols())
			for c := range cols {
				get, err := intColumn(rec.Column(c))
				if err != nil {
					return err
				}
				cols[c] = get
			}
			v := make([]int64, len(cols))
			for i := range int(rec.NumRows()) {
				for c, get := range cols {
					v[c] = get(i)
				}
				if err := fn(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// intColumn reads an Arrow integer column (the queries read hold no NULLs).
func intColumn(a arrow.Array) (func(int) int64, error) {
	switch c := a.(type) {
	case *array.Int64:
		return func(i int) int64 { return c.Value(i) }, nil
	case *array.Int32:
		return func(i int) int64 { return int64(c.Value(i)) }, nil
	case *array.Uint8:
		return func(i int) int64 { return int64(c.Value(i)) }, nil
	}
	return nil, fmt.Errorf("read integers: column of type %s", a.DataType())
}
