package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
)

var parquetSeq atomic.Int64

// writeParquet writes an audience as a Parquet file and returns its row count through DuckDB's
// parquet writer (the audience's ids joined to profiles on a connection of
// its own; nothing is written to the database).
func writeParquet(ctx context.Context, aud *segments.Audience, st *engine.Store, w io.Writer, idsOnly bool) (int64, error) {
	ids, err := aud.IDs(ctx, st)
	if err != nil {
		return 0, err
	}
	n := int64(len(ids))
	return n, writeParquetIDs(ctx, ids, st, w, idsOnly)
}

// writeParquetIDs writes the profiles ids as Parquet: profile_id only, or
// with user_id, email, phone and timezone.
func writeParquetIDs(ctx context.Context, ids []int64, st *engine.Store, w io.Writer, idsOnly bool) error {
	columns := "p.id AS profile_id, p.user_id, p.email, p.phone, p.timezone"
	if idsOnly {
		columns = "p.id AS profile_id"
	}
	idJSON, err := json.Marshal(append([]int64{}, ids...))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tact-members-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "members.parquet")
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tmp := fmt.Sprintf("_members_%d", parquetSeq.Add(1))
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE `+tmp+` AS SELECT unnest(from_json(?::VARCHAR, '["BIGINT"]')) AS id`, string(idJSON)); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.`+tmp)
	q := `COPY (SELECT ` + columns + ` FROM profiles p JOIN ` + tmp +
		` m ON m.id = p.id ORDER BY p.id) TO '` + path + `' (FORMAT parquet, COMPRESSION zstd)`
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
