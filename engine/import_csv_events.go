package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// importEventsCSV is the set-based import of an events CSV file, with the
// rules of eventRow applied once per distinct value of each column (see
// import_csv_profiles.go). It returns a *slowPath error, with the database
// unchanged, when the row-by-row path must take the file.
func (s *Store) importEventsCSV(ctx context.Context, f fileSource) (ImportResult, error) {
	shape, err := readCSVShape(f.path, ImportEvents, f.opts)
	if err != nil {
		return ImportResult{}, err
	}
	h := shape.header
	if err := h.require("event", "timestamp"); err != nil {
		return ImportResult{}, giveWay("a required column is missing")
	}
	now := s.now()
	var res ImportResult
	err = s.write(ctx, func(w *writer) error {
		n, err := s.loadRawCSV(w, f.path, shape)
		if err != nil {
			return err
		}
		res.Rows = n
		var first int64
		var missing bool
		if err := w.queryRow(fmt.Sprintf(`SELECT min(rowid), bool_or(%s IS NULL OR %s IS NULL) FROM _raw`,
			rawColumn(h.roles["event"]), rawColumn(h.roles["timestamp"]))).Scan(&first, &missing); err != nil {
			return err
		}
		if missing {
			return giveWay("an event name or timestamp is missing")
		}
		st := &csvStage{w: w, h: h}
		ids, err := s.identityValues(st)
		if err != nil {
			return err
		}
		sel := []string{fmt.Sprintf("r.rowid - %d AS _row", first)}
		for k, kind := range IdentityKinds() {
			sel = append(sel, ids[k]+" AS "+kind)
		}
		fields, err := s.eventFieldValues(st)
		if err != nil {
			return err
		}
		sel = append(sel, fields...)
		if _, err := w.exec(fmt.Sprintf(`CREATE TEMP TABLE _evn AS SELECT %s FROM _raw r %s`, strings.Join(sel, ", "), strings.Join(st.joins, " "))); err != nil {
			return fmt.Errorf("stage events: %w", err)
		}
		w.temps = append(w.temps, "_evn")
		if err := w.temp("_ev", eventStageColumns); err != nil {
			return err
		}
		if _, err := w.exec(fmt.Sprintf(s.query("stage-csv-events"), primaryKindSQL(), strings.Join(IdentityKinds(), ", "))); err != nil {
			return fmt.Errorf("stage events: %w", err)
		}
		records, err := identitySets(w)
		if err != nil {
			return err
		}
		return s.writeStagedEvents(w, records, f.path, now, &res)
	})
	return res, err
}

// primaryKindSQL names, per row of _evn, the kind of its primary
// identifier: the first present in resolution order (see primary).
func primaryKindSQL() string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, k := range IdentityKinds() {
		fmt.Fprintf(&b, " WHEN %s IS NOT NULL THEN '%s'", k, k)
	}
	b.WriteString(" END")
	return b.String()
}

// eventFieldValues checks and converts the event name, timestamp,
// properties, context and message id over their distinct values, and
// returns the expressions selecting them (event, ts, ts_text, properties,
// context, message_id).
func (s *Store) eventFieldValues(st *csvStage) ([]string, error) {
	h := st.h
	name, err := mapDistinct(st, "_evname", "VARCHAR", h.roles["event"], func(v string) ([]driver.Value, bool) {
		name := strings.TrimSpace(v)
		return []driver.Value{name}, name != "" && len(name) <= maxEventName
	})
	if err != nil {
		return nil, err
	}
	ts, err := mapDistinct(st, "_evts", "TIMESTAMP, txt VARCHAR", h.roles["timestamp"], func(v string) ([]driver.Value, bool) {
		t, err := cellTime(textCell(v))
		if err == nil {
			err = s.CheckEventTime(t)
		}
		return []driver.Value{t, t.Format(time.RFC3339Nano)}, err == nil
	})
	if err != nil {
		return nil, err
	}
	out := []string{name + ".v AS event", ts + ".v AS ts", ts + ".txt AS ts_text"}
	for _, field := range []string{"properties", "context"} {
		col, ok := h.roles[field]
		if !ok {
			out = append(out, "NULL::VARCHAR AS "+field)
			continue
		}
		table, err := mapDistinct(st, "_ev"+field, "VARCHAR", col, func(v string) ([]driver.Value, bool) {
			obj, err := jsonObject(textCell(v), field)
			return []driver.Value{obj}, err == nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, table+".v AS "+field)
	}
	col, ok := h.roles["message_id"]
	if !ok {
		return append(out, "NULL::VARCHAR AS message_id"), nil
	}
	mid, err := mapDistinct(st, "_evmid", "VARCHAR", col, func(v string) ([]driver.Value, bool) {
		id := strings.TrimSpace(v)
		return []driver.Value{id}, id != "" && len(id) <= maxIdentifierLen
	})
	if err != nil {
		return nil, err
	}
	return append(out, mid+".v AS message_id"), nil
}

// mapDistinct applies fn to the distinct present values of input column
// col and joins the results as table; fn returns the mapped values and
// whether the value is accepted (any refusal gives way to the row reader).
func mapDistinct(st *csvStage, table, typ string, col int, fn func(string) ([]driver.Value, bool)) (string, error) {
	vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(col)))
	if err != nil {
		return "", err
	}
	rows := make([][]driver.Value, len(vals))
	for i, v := range vals {
		mapped, ok := fn(v)
		if !ok {
			return "", giveWay("%s: a value is refused", st.h.names[col])
		}
		rows[i] = append([]driver.Value{v}, mapped...)
	}
	return table, st.valueMap(table, typ, col, rows)
}

// identitySets returns the distinct identifier sets of _evn in order of
// first appearance, each with the line it first appears on.
func identitySets(w *writer) ([]idRecord, error) {
	kinds := strings.Join(IdentityKinds(), ", ")
	rows, err := w.query(fmt.Sprintf(`SELECT %[1]s, min(_row) AS first FROM _evn GROUP BY %[1]s ORDER BY first`, kinds))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var records []idRecord
	vals := make([]*string, numKinds)
	ptrs := make([]any, numKinds+1)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var first int64
	ptrs[numKinds] = &first
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		rec := idRecord{line: int(first) + 2}
		for k, v := range vals {
			if v != nil {
				rec.ids[k] = *v
			}
		}
		records = append(records, rec)
	}
	return records, rows.Err()
}
