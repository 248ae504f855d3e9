package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// resolveWaits ends event and condition waits that are satisfied.
func (r *Runner) resolveWaits(ctx context.Context, spec *Spec, version int, now time.Time, res *TickResult) error {
	for i := range spec.Steps {
		st := &spec.Steps[i]
		if st.Kind != StepWait {
			continue
		}
		switch st.WaitKind() {
		case "event":
			err := r.write(ctx, func(t *tx) error {
				n, err := r.moveAll(t, bulkMove{Journey: spec.Name, Version: version, Step: st.ID, Target: spec.NextOf(st.ID), Status: StatusActive,
					Kind: "step", Extra: q("event_arrived"), ExtraArgs: []any{st.Event}, DueBefore: farFuture}, now)
				res.Moved += int(n)
				return err
			})
			if err != nil {
				return err
			}
		case "condition":
			waiting, err := r.loadDue(ctx, spec.Name, version, st.ID, farFuture, "AND wait_since IS NOT NULL")
			if err != nil || len(waiting) == 0 {
				return err
			}
			m, err := r.eval.Match(ctx, st.Condition, subjectsOf(waiting), now)
			if err != nil {
				return err
			}
			var moves []move
			for k, ok := range m {
				if ok {
					moves = append(moves, to(waiting[k].ID, waiting[k].ProfileID, st.ID, spec.NextOf(st.ID), now))
				}
			}
			res.Moved += len(moves)
			if err := r.write(ctx, func(t *tx) error { return r.applyMoves(t, spec.Name, version, moves, now) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Runner) waitStep(ctx context.Context, spec *Spec, version int, st *Step, now time.Time, res *TickResult) error {
	// Arrivals: start the wait.
	switch st.WaitKind() {
	case "until":
		rows, err := r.db.QueryContext(ctx, `SELECT i.id, p.timezone, p.phone FROM journey_instances i JOIN profiles p ON p.id = i.profile_id WHERE `+
			fmt.Sprintf(q("due_at_step_i"), "AND i.wait_since IS NULL"), spec.Name, version, st.ID, now)
		if err != nil {
			return err
		}
		defer rows.Close() // closed after the loop too; this covers the early returns
		m, _ := parseClock(st.Until)
		var ids []int64
		var dues []time.Time
		for rows.Next() {
			var id int64
			var tz, phone sql.NullString
			if err := rows.Scan(&id, &tz, &phone); err != nil {
				rows.Close()
				return err
			}
			zones := r.cfg.Policy.zonesFor(tz.String, phone.String)
			ids = append(ids, id)
			dues = append(dues, nextTimeOfDay(now, zones[0], m))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) > 0 {
			err := r.write(ctx, func(t *tx) error {
				if err := t.temp("_jwait", "id BIGINT, due_at TIMESTAMP"); err != nil {
					return err
				}
				rows := make([][]driver.Value, len(ids))
				for i := range ids {
					rows[i] = []driver.Value{ids[i], dues[i]}
				}
				if err := t.appendRows("_jwait", rows); err != nil {
					return err
				}
				_, err := t.exec(`UPDATE journey_instances SET wait_since = ?, due_at = w.due_at FROM _jwait w WHERE journey_instances.id = w.id`, now)
				return err
			})
			if err != nil {
				return err
			}
		}
	default:
		d := st.Duration
		if st.WaitKind() != "duration" {
			d = st.Timeout
		}
		err := r.write(ctx, func(t *tx) error {
			_, err := t.exec(`UPDATE journey_instances SET wait_since = ?, due_at = ? WHERE `+fmt.Sprintf(q("due_at_step"), "AND wait_since IS NULL"),
				now, now.Add(d), spec.Name, version, st.ID, now)
			return err
		})
		if err != nil {
			return err
		}
	}
	// Waits that are over (elapsed, or timed out).
	target := spec.NextOf(st.ID)
	if (st.Event != "" || st.Condition != "") && st.OnTimeout != "" {
		target = st.OnTimeout
		if target == EndStep {
			target = ""
		}
	}
	return r.write(ctx, func(t *tx) error {
		n, err := r.moveAll(t, bulkMove{Journey: spec.Name, Version: version, Step: st.ID, Target: target, Status: StatusActive,
			Kind: "step", Extra: "AND wait_since IS NOT NULL"}, now)
		res.Moved += int(n)
		return err
	})
}
