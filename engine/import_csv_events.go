package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// The set-based import of an events CSV file, built as the profile one is
// (import_csv_profiles.go): DuckDB reads the file into _raw, each Go rule
// of the row path (identifiers, event name, timestamp, JSON objects,
// message id) runs once per distinct value of its column on every core,
// and _ev and _idrows are staged with INSERT … SELECT joining the results
// back. Whatever the row path would refuse sends the file to it, with the
// database untouched, so that its error names the line and column.

// rowByRowKey marks a context whose imports take the row-by-row path:
// the tests compare the two paths through it.
type rowByRowKey struct{}

// setBasedCSV returns the file when src is a CSV file the set-based path
// may try.
func setBasedCSV(ctx context.Context, src source) (fileSource, bool) {
	f, ok := src.(fileSource)
	if !ok || !strings.EqualFold(filepath.Ext(f.path), ".csv") || ctx.Value(rowByRowKey{}) != nil {
		return fileSource{}, false
	}
	return f, true
}

// importEventsCSV stages an events CSV file set-based and writes it as the
// row path does (writeStagedEvents). It returns a *slowPath error, with the
// database unchanged, when the row-by-row path must take the file.
func (s *Store) importEventsCSV(ctx context.Context, f fileSource) (ImportResult, error) {
	shape, err := readCSVShape(f.path, ImportEvents, f.opts)
	if err != nil {
		return ImportResult{}, err
	}
	h := shape.header
	if h.require("event", "timestamp") != nil {
		return ImportResult{}, giveWay("a required column is missing")
	}
	now := s.now()
	var res ImportResult
	err = s.write(ctx, func(w *writer) error {
		if err := w.temp("_ev", eventStageColumns); err != nil {
			return err
		}
		// Row i of _raw is the row path's row i, on line i+2.
		n, row, err := s.loadRawCSV(w, f.path, shape)
		if err != nil {
			return err
		}
		res.Rows = n
		st := &csvStage{w: w, h: h}
		ids, err := s.identityValues(st)
		if err != nil {
			return err
		}
		vals, err := s.eventValues(st)
		if err != nil {
			return err
		}
		from := "FROM _raw r " + strings.Join(st.joins, " ")
		kind, value := primaryExprs(ids)
		q := fmt.Sprintf(`INSERT INTO _ev SELECT %s, %s, %s, %s %s`, row, kind, value, strings.Join(vals, ", "), from)
		if _, err := w.exec(q); err != nil {
			return fmt.Errorf("stage events: %w", err)
		}
		if err := s.digestMessageIDs(w, n); err != nil {
			return err
		}
		// The sets of the rows stored before are left out of resolution:
		// staged from the rows still in _ev.
		gone, err := s.dropStoredEvents(w)
		if err != nil {
			return err
		}
		if gone > 0 {
			from += " WHERE " + row + " IN (SELECT _row FROM _ev)"
		}
		if err := stageIdentitySetsOnce(w, row, ids, from); err != nil {
			return err
		}
		if err := st.drop(); err != nil {
			return err
		}
		return s.writeStagedEvents(w, f.path, now, &res)
	})
	return res, err
}

// stageIdentitySetsOnce stages in _idrows each distinct identifier set
// once, at the row it first appears on: what id-sets makes of the row
// path's runs. A table dropped inside the write holds its memory until the
// commit, so _idrows holds no more rows than the row path's.
func stageIdentitySetsOnce(w *writer, row string, ids []string, from string) error {
	if err := w.temp(idRowsTable, idRowColumns()); err != nil {
		return err
	}
	kinds := IdentityKinds()
	sel := []string{row + " AS _row"}
	for k, e := range ids {
		sel = append(sel, e+" AS "+kinds[k])
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s SELECT min(_row), min(_row) + 2, %[2]s FROM (SELECT %[3]s %[4]s) GROUP BY %[2]s`,
		idRowsTable, strings.Join(kinds, ", "), strings.Join(sel, ", "), from)
	if _, err := w.exec(q); err != nil {
		return fmt.Errorf("stage identifier sets: %w", err)
	}
	return nil
}

// primaryExprs are the SQL of primary(ids) over the identity expressions
// (in IdentityKinds order): the first kind present and its value.
// Normalised identifiers are never empty, so present is NOT NULL.
func primaryExprs(ids []string) (string, string) {
	var kind strings.Builder
	kind.WriteString("CASE")
	for k, name := range IdentityKinds() {
		fmt.Fprintf(&kind, " WHEN %s IS NOT NULL THEN '%s'", ids[k], name)
	}
	kind.WriteString(" END")
	return kind.String(), "coalesce(" + strings.Join(ids, ", ") + ")"
}

// eventValues maps the event, timestamp, properties, message_id and
// context columns with eventRow's rules and returns their expressions in
// _ev's order. A message id the file lacks is left NULL for
// digestMessageIDs.
func (s *Store) eventValues(st *csvStage) ([]string, error) {
	h := st.h
	ev, ts := h.roles["event"], h.roles["timestamp"]
	var missing bool
	q := fmt.Sprintf(`SELECT count(*) > 0 FROM _raw WHERE %s IS NULL OR %s IS NULL`, rawColumn(ev), rawColumn(ts))
	if err := st.w.queryRow(q).Scan(&missing); err != nil {
		return nil, err
	}
	if missing {
		return nil, giveWay("a row has no event name or timestamp")
	}
	name, err := st.mapColumn("_evname", "VARCHAR", ev, false, func(v string) (driver.Value, bool) {
		name := strings.TrimSpace(v)
		return name, name != "" && len(name) <= maxEventName
	})
	if err != nil {
		return nil, err
	}
	at, err := st.mapColumn("_evts", "TIMESTAMP", ts, true, func(v string) (driver.Value, bool) {
		t, err := cellTime(textCell(v))
		if err == nil {
			err = s.CheckEventTime(t)
		}
		return t, err == nil
	})
	if err != nil {
		return nil, err
	}
	object := func(field string) (string, error) {
		col, ok := h.roles[field]
		if !ok {
			return "NULL", nil
		}
		return st.mapColumn("_ev"+field, "VARCHAR", col, false, func(v string) (driver.Value, bool) {
			obj, err := jsonObject(textCell(v), field)
			return obj, err == nil
		})
	}
	props, err := object("properties")
	if err != nil {
		return nil, err
	}
	evCtx, err := object("context")
	if err != nil {
		return nil, err
	}
	msgID := "NULL"
	if col, ok := h.roles["message_id"]; ok {
		msgID, err = st.mapColumn("_evmid", "VARCHAR", col, false, func(v string) (driver.Value, bool) {
			id := strings.TrimSpace(v)
			return id, id != "" && len(id) <= maxIdentifierLen
		})
		if err != nil {
			return nil, err
		}
	}
	return []string{name, at, props, msgID, evCtx}, nil
}

// mapColumn runs rule over the distinct present values of input column
// col on every core and joins their results back through a value map
// named table, returning the expression of a row's value. rule returns
// the value and whether the row path accepts it; any refusal gives way.
// Unless all, values the rule keeps as they are stay out of the map (most
// are already as the row path stores them) and the expression falls back
// to the raw text.
func (st *csvStage) mapColumn(table, typ string, col int, all bool, rule func(string) (driver.Value, bool)) (string, error) {
	vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(col)))
	if err != nil {
		return "", err
	}
	out := make([]driver.Value, len(vals))
	if !onEveryCore(len(vals), func(i int) bool {
		v, ok := rule(vals[i])
		out[i] = v
		return ok
	}) {
		return "", giveWay("%s: a value is refused", st.h.names[col])
	}
	var rows [][]driver.Value
	for i, v := range vals {
		if s, ok := out[i].(string); !all && ok && s == v {
			continue
		}
		rows = append(rows, []driver.Value{v, out[i]})
	}
	if err := st.valueMap(table, typ, col, rows); err != nil {
		return "", err
	}
	if all {
		return table + ".v", nil
	}
	return fmt.Sprintf("coalesce(%s.v, r.%s)", table, rawColumn(col)), nil
}

// digestChunk is how many staged rows are read at a time to digest
// their message ids: the Go heap holds one chunk's ids, not the file's.
const digestChunk = 1 << 18

// digestMessageIDs gives the staged events (n rows) without a message id
// the one eventRow gives them: the digest of their content, computed a
// chunk of rows at a time on every core, straight from the Arrow columns.
func (s *Store) digestMessageIDs(w *writer, n int) error {
	var missing bool
	if err := w.queryRow(`SELECT count(*) > 0 FROM _ev WHERE message_id IS NULL`).Scan(&missing); err != nil || !missing {
		return err
	}
	if err := w.temp("_evdigest", "_row BIGINT, id VARCHAR"); err != nil {
		return err
	}
	const q = `SELECT _row, epoch_us(ts), _pkind, _pvalue, event, coalesce(properties, ''), coalesce(context, '')
		FROM _ev WHERE message_id IS NULL AND _row >= ? AND _row < ?`
	for lo := 0; lo < n; lo += digestChunk {
		var rows []int64
		var ids []string
		err := dbtx.QueryArrow(w.ctx, w.conn, q, []any{lo, lo + digestChunk}, func(rdr array.RecordReader) error {
			for rdr.Next() {
				rec := rdr.Record()
				rowNo, okR := rec.Column(0).(*array.Int64)
				ats, okT := rec.Column(1).(*array.Int64)
				texts := make([]*array.String, 5)
				for i := range texts {
					c, ok := rec.Column(2 + i).(*array.String)
					if !ok {
						return fmt.Errorf("digest message ids: columns of type %s", rec.Schema())
					}
					texts[i] = c
				}
				if !okR || !okT {
					return fmt.Errorf("digest message ids: columns of type %s", rec.Schema())
				}
				base := len(ids)
				ids = append(ids, make([]string, rowNo.Len())...)
				rows = append(rows, rowNo.Int64Values()...)
				onEveryCore(rowNo.Len(), func(i int) bool {
					t := func(c int) string { return texts[c].Value(i) }
					// As eventRow: a context is part of the content only when present.
					parts := []string{t(0), t(1), t(2), time.UnixMicro(ats.Value(i)).UTC().Format(time.RFC3339Nano), t(3)}
					if t(4) != "" {
						parts = append(parts, t(4))
					}
					ids[base+i] = "tact:" + digest(parts...)
					return true
				})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := dbtx.AppendN(w.conn, "_evdigest", len(rows), func(i int) []driver.Value { return []driver.Value{rows[i], ids[i]} }); err != nil {
			return err
		}
	}
	if _, err := w.exec(`UPDATE _ev SET message_id = d.id FROM _evdigest d WHERE _ev._row = d._row`); err != nil {
		return fmt.Errorf("digest message ids: %w", err)
	}
	_, err := w.exec(`DROP TABLE _evdigest`)
	return err
}
