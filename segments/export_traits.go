package segments

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
)

// MemberExport says which columns a member list carries.
type MemberExport struct {
	// IDsOnly: profile_id only, not the contact columns (a list not
	// filtered by consent).
	IDsOnly bool
	// Traits are added after the fixed columns, typed as stored
	// (MemberTraits resolves them).
	Traits []engine.Trait
}

// Added names the trait columns the export adds: Traits less those
// already among its fixed columns.
func (o MemberExport) Added() []string {
	fixed := o.fixed()
	var out []string
	for _, t := range o.Traits {
		if !slices.Contains(fixed, t.Name) {
			out = append(out, t.Name)
		}
	}
	return out
}

func (o MemberExport) fixed() []string {
	if o.IDsOnly {
		return fieldNames()[:1]
	}
	return fieldNames()
}

// WriteMemberExport writes the audience members with the columns o asks
// for, in a format of Formats. Without added traits the bytes are
// WriteMembers' (or WriteMemberIDs'); with them, DuckDB materialises the
// member list with its trait columns once and every format reads it:
// csv and jsonl give text and JSON values (timestamps RFC 3339, lists as
// JSON arrays), arrow and parquet the stored types. It returns the number
// of rows.
func WriteMemberExport(ctx context.Context, st *engine.Store, a *Audience, format string, w io.Writer, o MemberExport) (int64, error) {
	added := o.Added()
	if len(added) == 0 {
		return writeMembers(ctx, st, a, format, w, o.IDsOnly)
	}
	if !slices.Contains(Formats, format) {
		return 0, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	cols := make([]string, 0, 5+len(added))
	cols = append(cols, "m.id AS "+memberIDColumn)
	for _, f := range o.fixed()[1:] {
		cols = append(cols, "m."+f)
	}
	for _, name := range added {
		// Names come from the trait catalogue (MemberTraits), never from
		// the caller's text.
		cols = append(cols, "t."+quoteIdent(name)+" AS "+quoteIdent(name))
	}
	var n int64
	err := a.bounded(ctx, func(ctx context.Context) error {
		var err error
		n, err = a.exportTraits(ctx, st, strings.Join(cols, ", "), format, w)
		return err
	})
	return n, err
}

// exportTraits stages the member list in a temporary table of one
// connection and writes it.
func (a *Audience) exportTraits(ctx context.Context, st *engine.Store, cols, format string, w io.Writer) (int64, error) {
	now := evalNow(st)
	q, args, err := a.classify(ctx, st, now)
	if err != nil {
		return 0, err
	}
	var vmIDs []int64
	if a.Segment.path != PathSQL {
		set, err := a.vmFilter(ctx, st, now)
		if err != nil {
			return 0, err
		}
		for id := range set {
			vmIDs = append(vmIDs, id)
		}
	}
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	defer func() {
		for _, drop := range []string{"member-export-drop", "member-ids-drop"} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), exportQuery(drop))
		}
	}()
	stage := exportQuery("member-export-sql")
	if a.Segment.path != PathSQL {
		if _, err := conn.ExecContext(ctx, exportQuery("member-ids")); err != nil {
			return 0, err
		}
		if err := dbtx.AppendN(conn, "seg_member_ids", len(vmIDs), func(i int) []driver.Value { return []driver.Value{vmIDs[i]} }); err != nil {
			return 0, err
		}
		stage = exportQuery("member-export-vm")
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(stage, cols, q), args...); err != nil {
		return 0, fmt.Errorf("audience query: %w", err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, exportQuery("member-export-count")).Scan(&n); err != nil {
		return 0, err
	}
	if format == "parquet" {
		return n, copyParquet(ctx, conn, w)
	}
	return n, dbtx.QueryArrow(ctx, conn, exportQuery("member-export-rows"), nil, func(rdr array.RecordReader) error {
		sink, err := newRecordSink(format, w, rdr.Schema())
		if err != nil {
			return err
		}
		for rdr.Next() {
			if err := sink.write(rdr.Record()); err != nil {
				return err
			}
		}
		if err := rdr.Err(); err != nil {
			return err
		}
		return sink.close()
	})
}

// copyParquet lets DuckDB write the staged members as a Parquet file (in a
// temporary directory: COPY writes files) and copies it to w.
func copyParquet(ctx context.Context, conn *sql.Conn, w io.Writer) error {
	dir, err := os.MkdirTemp("", "tact-members-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "members.parquet")
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(exportQuery("member-export-parquet"), lit)); err != nil {
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

// recordSink writes record batches in one text or Arrow format.
type recordSink struct {
	write func(arrow.Record) error
	close func() error
}

func newRecordSink(format string, w io.Writer, schema *arrow.Schema) (*recordSink, error) {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return nil, err
		}
		row := make([]string, len(names))
		return &recordSink{
			write: func(rec arrow.Record) error {
				for i := 0; i < int(rec.NumRows()); i++ {
					for c := range row {
						row[c] = cellText(cellValue(rec.Column(c), i))
					}
					if err := cw.Write(row); err != nil {
						return err
					}
				}
				return nil
			},
			close: func() error { cw.Flush(); return cw.Error() },
		}, nil
	case "jsonl":
		keys := make([][]byte, len(names))
		for i, n := range names {
			keys[i], _ = json.Marshal(n)
		}
		var line []byte
		return &recordSink{
			write: func(rec arrow.Record) error {
				for i := 0; i < int(rec.NumRows()); i++ {
					line = append(line[:0], '{')
					for c := range names {
						v := cellValue(rec.Column(c), i)
						if v == nil {
							continue // missing values are omitted, as in WriteMembers
						}
						b, err := json.Marshal(v)
						if err != nil {
							return err
						}
						if len(line) > 1 {
							line = append(line, ',')
						}
						line = append(append(append(line, keys[c]...), ':'), b...)
					}
					line = append(line, '}', '\n')
					if _, err := w.Write(line); err != nil {
						return err
					}
				}
				return nil
			},
			close: func() error { return nil },
		}, nil
	case "arrow":
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema))
		if err != nil {
			return nil, err
		}
		return &recordSink{write: fw.Write, close: fw.Close}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}
