package engine

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// maxEventName bounds event names.
const maxEventName = 200

// eventStageColumns are the columns of the events stage (_ev).
const eventStageColumns = "_row BIGINT, _pkind VARCHAR, _pvalue VARCHAR, event VARCHAR, ts TIMESTAMP, properties VARCHAR, message_id VARCHAR, context VARCHAR"

func (s *Store) importEvents(ctx context.Context, src source) (ImportResult, error) {
	if f, ok := setBasedCSV(ctx, src); ok {
		res, err := s.importEventsCSV(ctx, f)
		var slow *slowPath
		if !errors.As(err, &slow) {
			return res, err
		}
		s.log.Debug("import: row by row", "input", filepath.Base(f.path), "why", slow.why)
	}
	res := ImportResult{}
	now := s.now()
	err := s.write(ctx, func(w *writer) error {
		if err := w.temp("_ev", eventStageColumns); err != nil {
			return err
		}
		// One pass: validate and stage. A bad row aborts before anything
		// outside the temp tables is written.
		var runs idSetRuns
		h := newHeader(src.name(), ImportEvents)
		n := 0
		pull, done := streamRows(ctx, src, h, func(rc *rowCtx) (stagedRow, error) {
			ids, err := rc.identities(s.cfg.DefaultRegion)
			if err != nil {
				return stagedRow{}, err
			}
			row, err := eventRow(rc, ids, n, s.CheckEventTime)
			st := stagedRow{values: row, idSet: runs.next(ids, n, rc.line)}
			n++
			return st, err
		})
		appendErr := appendStaged(w, "_ev", pull)
		if err := done(); err != nil {
			return err
		}
		if appendErr != nil {
			return appendErr
		}
		res.Rows = n
		if err := h.require("event", "timestamp"); err != nil && n > 0 {
			return err
		}
		if err := s.dropStoredEventRuns(w); err != nil {
			return err
		}
		return s.writeStagedEvents(w, src.name(), now, &res)
	})
	return res, err
}

// writeStagedEvents resolves the staged identifier sets (_idrows) and
// stores the staged events (_ev, res.Rows rows before those stored before
// were left out: they count as duplicates).
func (s *Store) writeStagedEvents(w *writer, label string, now time.Time, res *ImportResult) error {
	n := res.Rows
	lines, err := s.stageIdentitySets(w)
	if err != nil {
		return err
	}
	if err := s.upsertIdentitySets(w, lines, label, res); err != nil {
		return err
	}
	releaseGoMemory(n)
	dropped, err := s.dropUntracked(w, filepath.Base(label), now)
	if err != nil {
		return err
	}
	res.EventsDropped = dropped
	for _, d := range dropped {
		n -= d
	}
	if _, err := w.exec(s.query("first-events")); err != nil {
		return fmt.Errorf("first events: %w", err)
	}
	w.temps = append(w.temps, "_evfirst")
	var first int
	if err := w.queryRow(`SELECT count(*) FROM _evfirst`).Scan(&first); err != nil {
		return err
	}
	r, err := w.exec(s.query("insert-events"), now, label)
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	added, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if int(added) != first {
		// register-event-ids registers every first row: each must be stored.
		return fmt.Errorf("insert events: %d first rows but %d events stored", first, added)
	}
	if _, err := w.exec(s.query("register-event-ids")); err != nil {
		return fmt.Errorf("register message ids: %w", err)
	}
	res.EventsAdded = int(added)
	res.EventsDuplicate = n - res.EventsAdded
	return nil
}

// require reports a required column missing from the input.
func (h *header) require(names ...string) error {
	for _, n := range names {
		if _, ok := h.roles[n]; !ok {
			return &ImportError{File: h.file, Line: 1, Msg: fmt.Sprintf("missing column %q", n)}
		}
	}
	return nil
}

func eventRow(rc *rowCtx, ids [numKinds]string, rowNo int, checkTime func(time.Time) error) ([]driver.Value, error) {
	h := rc.h
	if err := h.require("event", "timestamp"); err != nil {
		return nil, err
	}
	ei := h.roles["event"]
	c := cellAt(rc.cells, ei)
	if !c.present {
		return nil, rc.errAt(ei, "event name is required")
	}
	name, ok := cellString(c)
	name = strings.TrimSpace(name)
	if !ok || name == "" || len(name) > maxEventName {
		return nil, rc.errAt(ei, fmt.Sprintf("want an event name of 1 to %d characters", maxEventName))
	}
	ti := h.roles["timestamp"]
	tc := cellAt(rc.cells, ti)
	if !tc.present {
		return nil, rc.errAt(ti, "timestamp is required")
	}
	ts, err := cellTime(tc)
	if err == nil {
		err = checkTime(ts)
	}
	if err != nil {
		return nil, rc.errAt(ti, err.Error())
	}
	props, err := objectField(rc, "properties")
	if err != nil {
		return nil, err
	}
	// The context (where and how the event happened) is kept apart from
	// the properties, as the source sent it.
	evCtx, err := objectField(rc, "context")
	if err != nil {
		return nil, err
	}
	kind, value := primary(ids)
	var msgID string
	if mi, ok := h.roles["message_id"]; ok {
		if mc := cellAt(rc.cells, mi); mc.present {
			msgID, _ = cellString(mc)
			msgID = strings.TrimSpace(msgID)
			if msgID == "" || len(msgID) > maxIdentifierLen {
				return nil, rc.errAt(mi, "message_id must be 1 to 512 characters")
			}
		}
	}
	if msgID == "" {
		// Without a message id the event's content is its identity, so the
		// same file imported twice stores each event once.
		// A context is part of that content only when there is one, so
		// the ids of context-free events stay what they always were.
		parts := []string{kind, value, name, ts.Format(time.RFC3339Nano), props}
		if evCtx != "" {
			parts = append(parts, evCtx)
		}
		msgID = "tact:" + digest(parts...)
	}
	return []driver.Value{int64(rowNo), kind, value, name, ts, nullable(props), msgID, nullable(evCtx)}, nil
}

// objectField returns the compact JSON text of the row's object-valued
// column field ("" when the column is absent or the cell missing).
func objectField(rc *rowCtx, field string) (string, error) {
	i, ok := rc.h.roles[field]
	if !ok {
		return "", nil
	}
	c := cellAt(rc.cells, i)
	if !c.present {
		return "", nil
	}
	obj, err := jsonObject(c, field)
	if err != nil {
		return "", rc.errAt(i, err.Error())
	}
	return obj, nil
}

// jsonObject returns the compact JSON text of an object-valued cell of
// column field.
func jsonObject(c cell, field string) (string, error) {
	// The error is put together only when needed: built on every call, it
	// cost more than the rest of this function on a large import.
	notObject := func() error { return fmt.Errorf("%s must be a JSON object", field) }
	var raw []byte
	switch c.kind {
	case cellText:
		raw = []byte(c.text)
	case cellJSON:
		// Already validated with its line; DuckDB's JSON cast keeps it as is.
		if len(c.raw) == 0 || c.raw[0] != '{' {
			return "", notObject()
		}
		return string(c.raw), nil
	default:
		if m, ok := c.val.(map[string]any); ok {
			b, err := json.Marshal(m)
			return string(b), err
		}
		if s, ok := c.val.(string); ok {
			raw = []byte(s)
		} else {
			return "", notObject()
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return "", notObject()
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// stageIdentityOnly stages one profile row per distinct identifier set,
// carrying no traits and no recency: such rows only fill missing values.
func (s *Store) stageIdentityOnly(w *writer, records []idRecord) error {
	if err := w.temp("_pstage", strings.Join(stageColumns(), ", ")); err != nil {
		return err
	}
	i := 0
	_, err := w.appendRows("_pstage", func() ([]driver.Value, error) {
		if i == len(records) {
			return nil, nil
		}
		r := records[i]
		row := []driver.Value{int64(i), nil}
		for _, v := range r.ids {
			row = append(row, nullable(v))
		}
		row = append(row, nil)
		i++
		return row, nil
	})
	return err
}
