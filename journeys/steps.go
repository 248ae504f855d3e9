package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/bucket"
	"github.com/tactcdp/tact/engine/eligibility"
)

// Instance statuses.
const (
	StatusActive    = "active"
	StatusCompleted = "completed"
	StatusConverted = "converted"
	StatusExited    = "exited"
)

// dueRow is an instance due at a step.
type dueRow struct {
	ID, ProfileID int64
	Seq           int
	Slot, Entered time.Time
	WaitSince     sql.NullTime
	Payload       map[string]any
}

func (r *Runner) loadDue(ctx context.Context, journey string, version int, step string, now time.Time, extra string) ([]dueRow, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id, profile_id, seq, slot, entered_at, wait_since, payload FROM journey_instances WHERE `+fmt.Sprintf(q("due_at_step"), extra)+` ORDER BY id`, journey, version, step, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dueRow
	for rows.Next() {
		var d dueRow
		var payload sql.NullString
		if err := rows.Scan(&d.ID, &d.ProfileID, &d.Seq, &d.Slot, &d.Entered, &d.WaitSince, &payload); err != nil {
			return nil, err
		}
		if payload.Valid {
			_ = json.Unmarshal([]byte(payload.String), &d.Payload)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func subjectsOf(rows []dueRow) []Subject {
	s := make([]Subject, len(rows))
	for i, d := range rows {
		s[i] = Subject{ProfileID: d.ProfileID, EnteredAt: d.Entered, Payload: d.Payload}
	}
	return s
}

// advance moves every due instance of one version through its steps until
// nothing is due now.
func (r *Runner) advance(ctx context.Context, spec *Spec, version int, now time.Time) (TickResult, error) {
	var res TickResult
	if err := r.releaseRestricted(ctx, spec.Name, now); err != nil {
		return res, err
	}
	if !spec.Transactional() {
		n, err := r.sweepWithdrawn(ctx, spec, version, now)
		res.Exited += n
		if err != nil {
			return res, err
		}
	}
	if err := r.resolveWaits(ctx, spec, version, now, &res); err != nil {
		return res, err
	}
	for iter := 0; iter < r.cfg.MaxTransitions; iter++ {
		var steps []string
		if err := eachRow(ctx, r.db, q("due_steps"), []any{spec.Name, version, now}, func(rows *sql.Rows) error {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			steps = append(steps, s)
			return nil
		}); err != nil {
			return res, err
		}
		if len(steps) == 0 {
			return res, nil
		}
		if spec.Goal != "" || spec.Exit != "" {
			if err := r.checkGoalExit(ctx, spec, version, now, &res); err != nil {
				return res, err
			}
		}
		for _, id := range steps {
			st := spec.Step(id)
			if st == nil {
				return res, fmt.Errorf("v%d has no step %q", version, id)
			}
			if err := r.processStep(ctx, spec, version, st, now, &res); err != nil {
				return res, fmt.Errorf("step %s: %w", id, err)
			}
		}
	}
	return res, nil
}

// checkGoalExit converts or exits due instances whose goal or exit
// expression holds.
func (r *Runner) checkGoalExit(ctx context.Context, spec *Spec, version int, now time.Time, res *TickResult) error {
	var due []dueRow
	var stepOf []string
	if err := eachRow(ctx, r.db, `SELECT id, profile_id, step, entered_at, payload FROM journey_instances WHERE journey = ? AND version = ? AND status = 'active' AND due_at <= ? ORDER BY id`, []any{spec.Name, version, now}, func(rows *sql.Rows) error {
		var d dueRow
		var step string
		var payload sql.NullString
		if err := rows.Scan(&d.ID, &d.ProfileID, &step, &d.Entered, &payload); err != nil {
			return err
		}
		if payload.Valid {
			_ = json.Unmarshal([]byte(payload.String), &d.Payload)
		}
		due = append(due, d)
		stepOf = append(stepOf, step)
		return nil
	}); err != nil {
		return err
	}
	if len(due) == 0 {
		return nil
	}
	done := make([]string, len(due))
	for _, c := range []struct{ src, status string }{{spec.Goal, StatusConverted}, {spec.Exit, StatusExited}} {
		if c.src == "" {
			continue
		}
		m, err := r.eval.Match(ctx, c.src, subjectsOf(due), now)
		if err != nil {
			return err
		}
		for i, ok := range m {
			if ok && done[i] == "" {
				done[i] = c.status
			}
		}
	}
	var moves []move
	for i, s := range done {
		switch s {
		case StatusConverted:
			moves = append(moves, move{ID: due[i].ID, ProfileID: due[i].ProfileID, Step: stepOf[i], Status: s, Reason: "goal", Kind: "converted", Due: now})
			res.Converted++
		case StatusExited:
			moves = append(moves, move{ID: due[i].ID, ProfileID: due[i].ProfileID, Step: stepOf[i], Status: s, Reason: "exit_condition", Kind: "exited", Due: now})
			res.Exited++
		}
	}
	return r.write(ctx, func(t *tx) error { return r.applyMoves(t, spec.Name, version, moves, now) })
}

// sweepWithdrawn ends the instances of people who withdrew the journey's
// purpose on every channel it uses since they entered.
func (r *Runner) sweepWithdrawn(ctx context.Context, spec *Spec, version int, now time.Time) (int, error) {
	chs := spec.Channels()
	if len(chs) == 0 {
		return 0, nil
	}
	type cand struct {
		id, pid int64
		step    string
	}
	var cands []cand
	if err := eachRow(ctx, r.db, q("withdrawal_candidates"), []any{spec.Name, version, spec.Purpose, now}, func(rows *sql.Rows) error {
		var c cand
		if err := rows.Scan(&c.id, &c.pid, &c.step); err != nil {
			return err
		}
		cands = append(cands, c)
		return nil
	}); err != nil {
		return 0, err
	}
	var moves []move
	var logs [][]driver.Value
	for _, c := range cands {
		all := true
		for _, ch := range chs {
			d, err := r.store.EvaluateConsent(ctx, c.pid, spec.Purpose, ch, now)
			if err != nil {
				return 0, err
			}
			if eligibility.ConsentReason(d.Reason) != ReasonWithdrawn {
				all = false
				break
			}
		}
		if all {
			moves = append(moves, move{ID: c.id, ProfileID: c.pid, Step: c.step, Status: StatusExited, Reason: ReasonWithdrawn, Kind: "exited", Due: now})
			logs = append(logs, logRow(now, spec.Name, version, c.step, c.pid, c.id, "skipped", ReasonWithdrawn, ""))
		}
	}
	if len(moves) == 0 {
		return 0, nil
	}
	err := r.write(ctx, func(t *tx) error {
		if err := r.applyMoves(t, spec.Name, version, moves, now); err != nil {
			return err
		}
		return logMoved(t, logs)
	})
	return len(moves), err
}

func logRow(at time.Time, journey string, version int, step string, pid, iid int64, kind, reason, channel string) []driver.Value {
	c := logCells(at, journey, int32(version), step, pid, iid, kind, nullStr(reason), nullStr(channel))
	return c[:]
}

func (r *Runner) processStep(ctx context.Context, spec *Spec, version int, st *Step, now time.Time, res *TickResult) error {
	switch st.Kind {
	case StepWait:
		return r.waitStep(ctx, spec, version, st, now, res)
	case StepSend, StepWebhook:
		return r.sendStep(ctx, spec, version, st, now, res)
	case StepExit:
		return r.write(ctx, func(t *tx) error {
			n, err := r.moveAll(t, bulkMove{Journey: spec.Name, Version: version, Step: st.ID, Target: st.ID, Status: StatusExited,
				Reason: "exit_step", Kind: "exited"}, now)
			res.Exited += int(n)
			return err
		})
	case StepBranch:
		due, err := r.loadDue(ctx, spec.Name, version, st.ID, now, "")
		if err != nil {
			return err
		}
		target := make([]string, len(due))
		decided := make([]bool, len(due))
		for _, arm := range st.Branches {
			var idx []int
			var subs []Subject
			for i, d := range due {
				if !decided[i] {
					idx = append(idx, i)
					subs = append(subs, Subject{ProfileID: d.ProfileID, EnteredAt: d.Entered, Payload: d.Payload})
				}
			}
			if len(idx) == 0 {
				break
			}
			m, err := r.eval.Match(ctx, arm.If, subs, now)
			if err != nil {
				return err
			}
			for k, ok := range m {
				if ok {
					target[idx[k]], decided[idx[k]] = arm.Goto, true
				}
			}
		}
		other := st.Else
		if other == "" {
			other = spec.NextOf(st.ID)
		}
		moves := make([]move, len(due))
		for i, d := range due {
			t := other
			if decided[i] {
				t = target[i]
			}
			if t == EndStep {
				t = ""
			}
			moves[i] = to(d.ID, d.ProfileID, st.ID, t, now)
		}
		res.Moved += len(moves)
		return r.write(ctx, func(t *tx) error { return r.applyMoves(t, spec.Name, version, moves, now) })
	case StepSplit:
		due, err := r.loadDue(ctx, spec.Name, version, st.ID, now, "")
		if err != nil {
			return err
		}
		moves := make([]move, len(due))
		for i, d := range due {
			b := bucket.Salted(d.ProfileID, spec.Name+"/"+st.ID, 100)
			acc, t := 0, st.Split[len(st.Split)-1].Goto
			for _, arm := range st.Split {
				acc += arm.Percent
				if b < acc {
					t = arm.Goto
					break
				}
			}
			if t == EndStep {
				t = ""
			}
			moves[i] = to(d.ID, d.ProfileID, st.ID, t, now)
		}
		res.Moved += len(moves)
		return r.write(ctx, func(t *tx) error { return r.applyMoves(t, spec.Name, version, moves, now) })
	case StepUpdate:
		return r.updateStep(ctx, spec, version, st, now, res)
	}
	return fmt.Errorf("unknown step kind %q", st.Kind)
}

// String renders a TickResult for logs.
func (t TickResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entered=%d moved=%d queued=%d sent=%d skipped=%d held=%d failed=%d retried=%d resent=%d converted=%d exited=%d",
		t.Entered, t.Moved, t.Queued, t.Sent, t.Skipped, t.Held, t.Failed, t.Retried, t.Resent, t.Converted, t.Exited)
	if len(t.Errors) > 0 {
		fmt.Fprintf(&b, " failing_journeys=%d", len(t.Errors))
	}
	return b.String()
}
