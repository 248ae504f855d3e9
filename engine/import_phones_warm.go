package engine

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
)

// warmPhones normalises the distinct phones of a Parquet profile file on
// every core, before the row passes, into the memo those passes ask. The
// phone rule is the costliest of a profile import (12.5 of 43 s of CPU
// for the 1M-profile sample as Parquet), and the row path's check pass
// runs it on one goroutine. The memo only caches normaliseIdentifier: a
// pair no row asks for is wasted work, never a different answer, so the
// pairs are read as DuckDB casts them to text and each row still asks the
// memo with its own cell and region.
func (s *Store) warmPhones(ctx context.Context, f fileSource, memo *normMemo) error {
	if f.db == nil || !strings.EqualFold(filepath.Ext(f.path), ".parquet") {
		return nil
	}
	cols, err := parquetColumns(ctx, f.db, f.path)
	if err != nil {
		return err
	}
	h := newHeader(f.path, ImportProfiles)
	if h.update(cols, func(int) (int, int) { return 1, 0 }) != nil {
		return nil // the check pass reports the header
	}
	phone := h.idCols[kindIndex(KindPhone)]
	if phone < 0 {
		return nil
	}
	country := "NULL"
	if i, ok := h.seen["country"]; ok {
		country = quoteIdent(cols[i]) + "::VARCHAR"
	}
	q := fmt.Sprintf(`SELECT DISTINCT %[1]s::VARCHAR, %[2]s FROM read_parquet(?) WHERE %[1]s IS NOT NULL`, quoteIdent(cols[phone]), country)
	rows, err := f.db.QueryContext(ctx, q, f.path)
	if err != nil {
		return fmt.Errorf("%s: phones: %w", f.path, err)
	}
	defer rows.Close()
	var raws, regions []string
	for rows.Next() {
		var raw string
		var c sql.NullString
		if err := rows.Scan(&raw, &c); err != nil {
			return err
		}
		region := s.cfg.DefaultRegion
		if c.Valid {
			region = s.regionOf(c.String)
		}
		raws, regions = append(raws, raw), append(regions, region)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	out := make([]phoneResult, len(raws))
	onEveryCore(len(raws), func(i int) bool {
		v, err := normaliseIdentifier(KindPhone, raws[i], regions[i])
		out[i] = phoneResult{v, err}
		return true
	})
	for i, r := range out {
		memo.phones[[2]string{raws[i], regions[i]}] = r
	}
	return nil
}

// parquetColumns are a Parquet file's column names, in order.
func parquetColumns(ctx context.Context, db *sql.DB, path string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM read_parquet(?) LIMIT 0`, path)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	return cols, rows.Err()
}
