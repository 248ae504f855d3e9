package journeys

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// queryArrow runs query and hands each of its record batches to each, in
// order, with the row count of the whole result first (so callers can size
// their output once). Reading Arrow costs a few allocations per batch where
// database/sql boxes every value of every row. The records are released
// when queryArrow returns: each must copy out what it keeps.
func (r *Runner) queryArrow(ctx context.Context, query string, args []any, total func(n int), each func(rec arrow.Record) error) error {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return dbtx.QueryArrow(ctx, conn, query, args, func(rdr array.RecordReader) error {
		var recs []arrow.Record
		n := 0
		for rdr.Next() {
			rec := rdr.Record()
			rec.Retain()
			defer rec.Release()
			recs = append(recs, rec)
			n += int(rec.NumRows())
		}
		if err := rdr.Err(); err != nil {
			return err
		}
		total(n)
		for _, rec := range recs {
			if err := each(rec); err != nil {
				return err
			}
		}
		return nil
	})
}
