package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/segments"
)

// entrant is one candidate entry.
type entrant struct {
	ProfileID int64
	Slot      time.Time
	Ref       string
	Payload   string // JSON object or ""
}

// enter inserts instances for entrants that pass re-entry and the
// restricted/objected rules, set-based, inside t. It returns how many
// entered.
func (r *Runner) enter(t *tx, spec *Spec, version int, cands []entrant, now time.Time) (int, error) {
	if len(cands) == 0 {
		return 0, nil
	}
	if err := t.temp("_jcand", "profile_id BIGINT, slot TIMESTAMP, ref VARCHAR, payload VARCHAR, ord BIGINT"); err != nil {
		return 0, err
	}
	rows := make([][]driver.Value, len(cands))
	for i, c := range cands {
		slot := c.Slot
		if slot.IsZero() {
			slot = now
		}
		rows[i] = []driver.Value{c.ProfileID, slot.UTC().Truncate(time.Microsecond), nullStr(c.Ref), nullStr(c.Payload), int64(i)}
	}
	if err := t.appendRows("_jcand", rows); err != nil {
		return 0, err
	}
	var before int64
	if err := t.conn.QueryRowContext(t.ctx, `SELECT coalesce(max(id), 0) FROM journey_instances`).Scan(&before); err != nil {
		return 0, err
	}
	cutoff := now.Add(-spec.Reentry.After)
	n, err := t.exec(q("enter_instances"), before,
		spec.Name, version, spec.First(), now, now,
		spec.Name,
		!spec.Transactional(), string(spec.Reentry.Mode), cutoff)
	if err != nil {
		return 0, fmt.Errorf("enter: %w", err)
	}
	if n > 0 {
		if _, err := t.exec(q("log_entered"), now, spec.Name, before); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

// APIEntry is one explicit entry through Trigger.
type APIEntry struct {
	ProfileID int64
	// Payload is available to templates as .payload.
	Payload map[string]any
	// Ref identifies the request (an order id, …) for idempotency: the same
	// ref enters once. Optional.
	Ref string
}

// Trigger enters people into an api-entry journey now. It returns how many
// entered (re-entry rules, restricted and objected people, and refs already
// used are left out).
func (r *Runner) Trigger(ctx context.Context, name string, entries []APIEntry) (int, error) {
	st, cur, err := r.journeyState(ctx, name)
	if err != nil {
		return 0, err
	}
	if st == StatePaused {
		return 0, &StateError{Journey: name, Err: ErrPaused}
	}
	spec, err := r.spec(ctx, name, cur)
	if err != nil {
		return 0, err
	}
	if spec.Entry.Kind != EntryAPI {
		return 0, &StateError{Journey: name, Err: ErrNotAPIEntry, Detail: string(spec.Entry.Kind) + " entry"}
	}
	now := r.now()
	cands := make([]entrant, 0, len(entries))
	for _, e := range entries {
		c := entrant{ProfileID: e.ProfileID, Slot: now, Ref: e.Ref}
		if e.Payload != nil {
			b, err := json.Marshal(e.Payload)
			if err != nil {
				return 0, fmt.Errorf("payload: %w", err)
			}
			c.Payload = string(b)
		}
		cands = append(cands, c)
	}
	var n int
	err = r.write(ctx, func(t *tx) error {
		if err := t.temp("_jrefs", "ref VARCHAR"); err != nil {
			return err
		}
		// Drop refs already used.
		var keep []entrant
		used := map[string]bool{}
		var refs [][]driver.Value
		for _, c := range cands {
			if c.Ref != "" {
				refs = append(refs, []driver.Value{c.Ref})
			}
		}
		if err := t.appendRows("_jrefs", refs); err != nil {
			return err
		}
		err := eachRow(ctx, t.conn, `SELECT ref FROM _jrefs WHERE ref IN (SELECT entry_ref FROM journey_instances WHERE journey = ?)`, []any{name},
			func(rows *sql.Rows) error {
				var s string
				err := rows.Scan(&s)
				used[s] = true
				return err
			})
		if err != nil {
			return err
		}
		for _, c := range cands {
			if c.Ref == "" || !used[c.Ref] {
				keep = append(keep, c)
				if c.Ref != "" {
					used[c.Ref] = true
				}
			}
		}
		n, err = r.enter(t, spec, cur, keep, now)
		return err
	})
	return n, err
}

func (r *Runner) journeyState(ctx context.Context, name string) (state string, current int, err error) {
	err = r.db.QueryRowContext(ctx, `SELECT state, current_version FROM journeys WHERE name = ?`, name).Scan(&state, &current)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, &NotFoundError{Name: name}
	}
	return state, current, err
}

// entries runs the entry of the current version of a journey.
func (r *Runner) entries(ctx context.Context, spec *Spec, version int, publishedAt, now time.Time) (int, error) {
	switch spec.Entry.Kind {
	case EntryEvent:
		return r.eventEntries(ctx, spec, version, publishedAt, now)
	case EntrySegment:
		return r.segmentEntries(ctx, spec, version, now)
	case EntrySchedule:
		return r.scheduleEntries(ctx, spec, version, publishedAt, now)
	}
	return 0, nil
}

func (r *Runner) eventEntries(ctx context.Context, spec *Spec, version int, publishedAt, now time.Time) (int, error) {
	var cursor time.Time
	err := r.db.QueryRowContext(ctx, `SELECT received_at FROM journey_cursors WHERE journey = ?`, spec.Name).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		cursor = publishedAt
	} else if err != nil {
		return 0, err
	}
	var cands []entrant
	var subjects []Subject
	maxSeen := cursor
	err = eachRow(ctx, r.db, q("new_events"), []any{spec.Event(), cursor, now, spec.Name}, func(rows *sql.Rows) error {
		var id int64
		var ts, recv time.Time
		var props sql.NullString
		var mid string
		if err := rows.Scan(&id, &ts, &props, &mid, &recv); err != nil {
			return err
		}
		if recv.After(maxSeen) {
			maxSeen = recv
		}
		pm := map[string]any{}
		if props.Valid {
			_ = json.Unmarshal([]byte(props.String), &pm)
		}
		cands = append(cands, entrant{ProfileID: id, Slot: ts, Ref: mid, Payload: props.String})
		subjects = append(subjects, Subject{ProfileID: id, EnteredAt: now, Payload: pm,
			Event: &segments.Event{Name: spec.Entry.Event, Timestamp: ts, Properties: pm}})
		return nil
	})
	if err != nil {
		return 0, err
	}
	if cond := spec.Entry.Where; cond != "" && len(cands) > 0 {
		match, err := r.eval.MatchEvents(ctx, cond, subjects, now)
		if err != nil {
			return 0, fmt.Errorf("entry.where: %w", err)
		}
		kept := cands[:0]
		for i, ok := range match {
			if ok {
				kept = append(kept, cands[i])
			}
		}
		cands = kept
	}
	var n int
	err = r.write(ctx, func(t *tx) error {
		var err error
		if n, err = r.enter(t, spec, version, cands, now); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM journey_cursors WHERE journey = ?`, spec.Name); err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO journey_cursors VALUES (?, ?)`, spec.Name, maxSeen)
		return err
	})
	return n, err
}

// Event is the entry event name (event entries).
func (s *Spec) Event() string { return s.Entry.Event }

func (r *Runner) segmentEntries(ctx context.Context, spec *Spec, version int, now time.Time) (int, error) {
	schedID := spec.Name + "/check"
	slot, fire, _, err := r.dueSlot(ctx, schedID, spec.Entry.Check, time.Time{}, now, MissedRunOnce, 0)
	if err != nil || !fire {
		return 0, err
	}
	members, err := r.eval.Members(ctx, spec.Entry.Segment, now)
	if err != nil {
		return 0, fmt.Errorf("segment: %w", err)
	}
	var n int
	err = r.write(ctx, func(t *tx) error {
		// Missed segment checks are not counted: the next check sees the
		// same membership changes.
		claimed, err := r.claim(t, schedID, spec.Entry.Check, slot, 0, now)
		if err != nil || !claimed {
			return err
		}
		if err := t.temp("_jmembers", "profile_id BIGINT"); err != nil {
			return err
		}
		mrows := make([][]driver.Value, len(members))
		for i, id := range members {
			mrows[i] = []driver.Value{id}
		}
		if err := t.appendRows("_jmembers", mrows); err != nil {
			return err
		}
		var cands []entrant
		err = eachRow(ctx, t.conn, `SELECT profile_id FROM _jmembers EXCEPT SELECT profile_id FROM journey_segment_members WHERE journey = ? ORDER BY 1`, []any{spec.Name},
			func(rows *sql.Rows) error {
				var id int64
				err := rows.Scan(&id)
				cands = append(cands, entrant{ProfileID: id, Slot: now})
				return err
			})
		if err != nil {
			return err
		}
		if n, err = r.enter(t, spec, version, cands, now); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM journey_segment_members WHERE journey = ?`, spec.Name); err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO journey_segment_members SELECT ?, profile_id FROM _jmembers`, spec.Name)
		return err
	})
	return n, err
}

// ProfilesChanged re-checks segment entries for people whose traits,
// events or consent just changed (the server calls it after ingestion), so
// they enter without waiting for the next scheduled check.
func (r *Runner) ProfilesChanged(ctx context.Context, ids []int64) (int, error) {
	names, err := r.journeyNames(ctx, "")
	if err != nil {
		return 0, err
	}
	total := 0
	now := r.now()
	for _, name := range names {
		st, cur, err := r.journeyState(ctx, name)
		if err != nil || st != StateActive {
			continue
		}
		spec, err := r.spec(ctx, name, cur)
		if err != nil || spec.Entry.Kind != EntrySegment {
			continue
		}
		subjects := make([]Subject, len(ids))
		for i, id := range ids {
			subjects[i] = Subject{ProfileID: id}
		}
		match, err := r.eval.Match(ctx, spec.Entry.Segment, subjects, now)
		if err != nil {
			return total, err
		}
		var in, out []int64
		for i, ok := range match {
			if ok {
				in = append(in, ids[i])
			} else {
				out = append(out, ids[i])
			}
		}
		err = r.write(ctx, func(t *tx) error {
			if len(out) > 0 {
				if _, err := t.exec(`DELETE FROM journey_segment_members WHERE journey = ? AND profile_id IN (`+intList(out)+`)`, name); err != nil {
					return err
				}
			}
			if len(in) == 0 {
				return nil
			}
			already := map[int64]bool{}
			err := eachRow(ctx, t.conn, `SELECT profile_id FROM journey_segment_members WHERE journey = ? AND profile_id IN (`+intList(in)+`)`, []any{name},
				func(rows *sql.Rows) error {
					var id int64
					err := rows.Scan(&id)
					already[id] = true
					return err
				})
			if err != nil {
				return err
			}
			var cands []entrant
			var members [][]driver.Value
			for _, id := range in {
				if !already[id] {
					cands = append(cands, entrant{ProfileID: id, Slot: now})
					members = append(members, []driver.Value{name, id})
				}
			}
			if err := t.appendRows("journey_segment_members", members); err != nil {
				return err
			}
			n, err := r.enter(t, spec, cur, cands, now)
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *Runner) scheduleEntries(ctx context.Context, spec *Spec, version int, publishedAt, now time.Time) (int, error) {
	schedID := spec.Name + "/entry"
	slot, fire, missed, err := r.dueSlot(ctx, schedID, spec.Entry.Schedule, publishedAt, now, spec.Entry.Missed, spec.Entry.Deadline)
	if err != nil {
		return 0, err
	}
	if !fire {
		if missed > 0 {
			// Record the missed slots and move past them.
			err = r.write(ctx, func(t *tx) error {
				_, err := r.claim(t, schedID, spec.Entry.Schedule, slot, missed, now)
				return err
			})
		}
		return 0, err
	}
	var members []int64
	if spec.Entry.Audience != "" {
		if members, err = r.eval.Members(ctx, spec.Entry.Audience, now); err != nil {
			return 0, fmt.Errorf("audience: %w", err)
		}
	} else {
		if err := eachRow(ctx, r.db, `SELECT id FROM profiles ORDER BY id`, nil, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			members = append(members, id)
			return nil
		}); err != nil {
			return 0, err
		}
	}
	cands := make([]entrant, len(members))
	for i, id := range members {
		cands[i] = entrant{ProfileID: id, Slot: slot}
	}
	var n int
	err = r.write(ctx, func(t *tx) error {
		claimed, err := r.claim(t, schedID, spec.Entry.Schedule, slot, missed, now)
		if err != nil || !claimed {
			return err
		}
		n, err = r.enter(t, spec, version, cands, now)
		return err
	})
	return n, err
}
