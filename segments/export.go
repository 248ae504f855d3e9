package segments

import (
	"context"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
)

// Formats accepted by WriteMembers.
var Formats = []string{"csv", "jsonl", "parquet", "arrow"} //nolint:gochecknoglobals // read-only after initialisation

// WriteMembers writes the audience members (MemberSchema columns) to w in
// a format: csv (with a header), jsonl (one object per line, missing
// values omitted), arrow (Arrow IPC file format) or parquet (written by
// DuckDB's COPY through a temporary file). It returns the number of rows.
func WriteMembers(ctx context.Context, st *engine.Store, a *Audience, format string, w io.Writer) (int64, error) {
	return writeMembers(ctx, st, a, format, w, false)
}

// MemberIDSchema is the Arrow schema of a member list of profile ids only.
var MemberIDSchema = arrow.NewSchema([]arrow.Field{{Name: "profile_id", Type: arrow.PrimitiveTypes.Int64}}, nil) //nolint:gochecknoglobals // read-only after initialisation

// WriteMemberIDs is WriteMembers with the profile_id column only: the
// member list a caller gets without a purpose (no consent filter), which
// must not carry contact details.
func WriteMemberIDs(ctx context.Context, st *engine.Store, a *Audience, format string, w io.Writer) (int64, error) {
	return writeMembers(ctx, st, a, format, w, true)
}

func writeMembers(ctx context.Context, st *engine.Store, a *Audience, format string, w io.Writer, idsOnly bool) (int64, error) {
	names := fieldNames()
	if idsOnly {
		names = names[:1]
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return 0, err
		}
		var n int64
		err := a.Records(ctx, st, func(rec arrow.Record) error {
			row := make([]string, len(names))
			for i := 0; i < int(rec.NumRows()); i++ {
				for c := range row {
					row[c] = cellString(rec.Column(c), i)
				}
				if err := cw.Write(row); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		cw.Flush()
		return n, cw.Error()
	case "jsonl":
		enc := json.NewEncoder(w)
		var n int64
		err := a.Records(ctx, st, func(rec arrow.Record) error {
			for i := 0; i < int(rec.NumRows()); i++ {
				obj := map[string]any{}
				for c, f := range rec.Schema().Fields()[:len(names)] {
					col := rec.Column(c)
					if col.IsNull(i) {
						continue
					}
					switch x := col.(type) {
					case *array.Int64:
						obj[f.Name] = x.Value(i)
					default:
						obj[f.Name] = cellString(col, i)
					}
				}
				if err := enc.Encode(obj); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		return n, err
	case "arrow":
		schema := MemberSchema
		if idsOnly {
			schema = MemberIDSchema
		}
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema))
		if err != nil {
			return 0, err
		}
		var n int64
		err = a.Records(ctx, st, func(rec arrow.Record) error {
			n += rec.NumRows()
			if idsOnly {
				ids := array.NewRecord(MemberIDSchema, []arrow.Array{rec.Column(0)}, rec.NumRows())
				defer ids.Release()
				return fw.Write(ids)
			}
			return fw.Write(conform(rec))
		})
		if err != nil {
			return n, err
		}
		return n, fw.Close()
	case "parquet":
		dir, err := os.MkdirTemp("", "tact-members-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "members.parquet")
		n, err := writeParquet(ctx, st, a, path, strings.Join(names, ", "))
		if err != nil {
			return n, err
		}
		f, err := os.Open(path)
		if err != nil {
			return n, err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return n, err
	}
	return 0, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

func fieldNames() []string {
	var out []string
	for _, f := range MemberSchema.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func cellString(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	switch x := col.(type) {
	case *array.Int64:
		return strconv.FormatInt(x.Value(i), 10)
	case *array.String:
		// Value aliases the record's buffer: copy, the record is released
		// after the callback.
		return strings.Clone(x.Value(i))
	case *array.LargeString:
		return strings.Clone(x.Value(i))
	}
	return col.ValueStr(i)
}

// conform rebuilds a record with MemberSchema's exact types (DuckDB may
// export strings as large strings or mark columns non-nullable).
func conform(rec arrow.Record) arrow.Record {
	if rec.Schema().Equal(MemberSchema) {
		rec.Retain()
		return rec
	}
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		col := rec.Column(c)
		if c == 0 {
			col.Retain()
			cols[c] = col
			continue
		}
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(cellString(col, i))
			}
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	out := array.NewRecord(MemberSchema, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// writeParquet stages the members in a temporary table with the Appender
// and lets DuckDB write the Parquet file with the given columns (names from
// MemberSchema, never caller text).
func writeParquet(ctx context.Context, st *engine.Store, a *Audience, path, columns string) (int64, error) {
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE seg_export (profile_id BIGINT, user_id VARCHAR, email VARCHAR, phone VARCHAR, timezone VARCHAR)`); err != nil {
		return 0, err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.seg_export`) }()
	// Collect the batches first: the Arrow query holds its own connection.
	var rows [][]driver.Value
	err = a.Records(ctx, st, func(rec arrow.Record) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			r := make([]driver.Value, rec.NumCols())
			r[0] = rec.Column(0).(*array.Int64).Value(i)
			for c := 1; c < len(r); c++ {
				if !rec.Column(c).IsNull(i) {
					r[c] = cellString(rec.Column(c), i)
				}
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = dbtx.AppendSlice(conn, "seg_export", rows)
	if err != nil {
		return 0, err
	}
	// COPY takes no bind parameters for its target: the path is written as
	// a quoted SQL string literal (it comes from the operator, not from an
	// expression).
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	if _, err := conn.ExecContext(ctx, `COPY (SELECT `+columns+` FROM temp.seg_export ORDER BY profile_id) TO `+lit+` (FORMAT PARQUET)`); err != nil {
		return 0, err
	}
	return int64(len(rows)), nil
}
