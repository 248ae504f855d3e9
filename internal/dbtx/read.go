package dbtx

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/marcboeker/go-duckdb"
)

// QueryArrow runs query on conn and hands its result to fn as Arrow record
// batches, released when fn returns: reading Arrow costs a few allocations
// per batch where database/sql boxes every value of every row. fn must not
// use conn (a call on it inside conn.Raw deadlocks).
func QueryArrow(ctx context.Context, conn *sql.Conn, query string, args []any, fn func(array.RecordReader) error) error {
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rdr.Release()
		if err := fn(rdr); err != nil {
			return err
		}
		return rdr.Err()
	})
}

// Querier is what QueryColumn needs: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryColumn runs a query of one column (ids, mostly) and returns its
// values in the order the query gives.
func QueryColumn[T any](ctx context.Context, q Querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
