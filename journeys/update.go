package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine"
)

// updateStep writes the step's traits to everyone due. It never writes to
// a restricted person (held until the restriction is lifted) or to one who
// objected (profiling: skipped with reason objected).
func (r *Runner) updateStep(ctx context.Context, spec *Spec, version int, st *Step, now time.Time, res *TickResult) error {
	err := r.updateOnce(ctx, spec, version, st, now, res)
	var unknown *engine.UnknownPersonError
	if errors.As(err, &unknown) {
		// Someone read as due was erased before the traits were written:
		// nothing was written; read who is due again (they are not).
		err = r.updateOnce(ctx, spec, version, st, now, res)
	}
	return err
}

// updateOnce is one read of the people due at an update step and one write
// of their traits and moves. Counts go to res only once both are done.
func (r *Runner) updateOnce(ctx context.Context, spec *Spec, version int, st *Step, now time.Time, res *TickResult) error {
	start := time.Now()
	rows, err := r.db.QueryContext(ctx, `SELECT i.id, i.profile_id, p.user_id, p.email, p.phone, p.restricted, p.objected FROM journey_instances i JOIN profiles p ON p.id = i.profile_id WHERE `+
		fmt.Sprintf(q("due_at_step_i"), ""), spec.Name, version, st.ID, now)
	if err != nil {
		return err
	}
	defer rows.Close() // closed after the loop too; this covers the early returns
	var updates []map[string]any
	var moves []move
	var logs [][]driver.Value
	var held, skipped int
	next := spec.NextOf(st.ID)
	for rows.Next() {
		var id, pid int64
		var uid, email, phone sql.NullString
		var restricted, objected bool
		if err := rows.Scan(&id, &pid, &uid, &email, &phone, &restricted, &objected); err != nil {
			rows.Close()
			return err
		}
		switch {
		case restricted:
			moves = append(moves, hold(id, pid, st.ID, ReasonRestricted, farFuture))
			held++
			continue
		case objected:
			logs = append(logs, logRow(now, spec.Name, version, st.ID, pid, id, "skipped", ReasonObjected, ""))
			skipped++
			moves = append(moves, to(id, pid, st.ID, next, now))
			continue
		}
		row := map[string]any{}
		switch {
		case uid.Valid:
			row["user_id"] = uid.String
		case email.Valid:
			row["email"] = email.String
		case phone.Valid:
			row["phone"] = phone.String
		}
		if len(row) > 0 {
			for k, v := range st.Set {
				row[k] = v
			}
			updates = append(updates, row)
		}
		moves = append(moves, to(id, pid, st.ID, next, now))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.tracef("update_due query", start)
	if len(updates) > 0 {
		// UpdateProfiles, not ImportRows: a person erased since the read
		// is refused, not created again from what was read.
		if _, err := r.store.UpdateProfiles(ctx, "journey:"+spec.Name+"/"+st.ID, updates); err != nil {
			return fmt.Errorf("update traits: %w", err)
		}
	}
	if err := r.write(ctx, func(t *tx) error {
		if err := r.applyMoves(t, spec.Name, version, moves, now); err != nil {
			return err
		}
		return logMoved(t, logs)
	}); err != nil {
		return err
	}
	res.Moved += len(moves)
	res.Held += held
	res.Skipped += skipped
	return nil
}
