package journeys

import (
	"database/sql/driver"
	"fmt"
	"math"
	"time"
)

// move is one instance's transition, applied in bulk by applyMoves.
type move struct {
	ID, ProfileID int64
	Step          string // target step (or the current one when finishing or staying)
	Status        string
	Reason        string
	Kind          string // log kind: step, held, completed, exited, converted ("" = none)
	Stay          bool   // held at the same step: seq unchanged
	Due           time.Time
}

// to builds the move of an instance from step `from` to `target` ("" = end).
func to(id, pid int64, from, target string, now time.Time) move {
	if target == "" {
		return move{ID: id, ProfileID: pid, Step: from, Status: StatusCompleted, Kind: "completed", Due: now}
	}
	return move{ID: id, ProfileID: pid, Step: target, Status: StatusActive, Kind: "step", Due: now}
}

// applyMoves applies moves in bulk (one Appender into _jmove, one UPDATE)
// and logs them, leaving out instances no longer active (_jmove then holds
// the moves applied).
func (r *Runner) applyMoves(t *tx, journey string, version int, moves []move, now time.Time) error {
	if len(moves) == 0 {
		return nil
	}
	if err := t.temp("_jmove", "id BIGINT, profile_id BIGINT, step VARCHAR, status VARCHAR, reason VARCHAR, kind VARCHAR, stay BOOLEAN, due_at TIMESTAMP"); err != nil {
		return err
	}
	b := newRowBuf(0, 0) // only boxes the repeated values
	row := make([]driver.Value, 8)
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	if err := appendEach(t, "_jmove", len(moves), func(i int) []driver.Value {
		m := &moves[i]
		lo, hi = min(lo, m.ID), max(hi, m.ID)
		row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = m.ID, m.ProfileID, b.str(m.Step), b.str(m.Status), b.str(m.Reason), b.str(m.Kind), m.Stay, b.at(m.Due.UTC())
		return row
	}); err != nil {
		return err
	}
	// Another writer (an objection, an erasure) may have ended or removed
	// some of these instances since they were read: they are not moved
	// back, nor logged.
	if _, err := t.exec(q("drop_stale_moves"), lo, hi); err != nil {
		return fmt.Errorf("apply moves: %w", err)
	}
	if _, err := t.exec(q("apply_moves"), now); err != nil {
		return fmt.Errorf("apply moves: %w", err)
	}
	_, err := t.exec(q("log_moves"), now, journey, version)
	return err
}

// logMoved writes log rows (journey_log's layout) of the instances whose
// moves applyMoves just applied (those left in _jmove): an instance
// another writer ended or erased meanwhile gets no row.
func logMoved(t *tx, rows [][]driver.Value) error {
	if len(rows) == 0 {
		return nil
	}
	if err := stageLog(t, rows); err != nil {
		return err
	}
	_, err := t.exec(q("log_moved"))
	return err
}

// logRemaining writes log rows (journey_log's layout) of the instances,
// all with ids in [lo, hi], that still exist: an erasure committed since
// the rows were made removed the others, with their log.
func logRemaining(t *tx, rows [][]driver.Value, lo, hi int64) error {
	if len(rows) == 0 {
		return nil
	}
	if err := stageLog(t, rows); err != nil {
		return err
	}
	_, err := t.exec(q("log_remaining"), lo, hi)
	return err
}

// stageLog appends log rows to the temp table _jlog.
func stageLog(t *tx, rows [][]driver.Value) error {
	if err := t.temp("_jlog", "at TIMESTAMP, journey VARCHAR, version INTEGER, step VARCHAR, profile_id BIGINT, instance_id BIGINT, kind VARCHAR, reason VARCHAR, channel VARCHAR"); err != nil {
		return err
	}
	return t.appendRows("_jlog", rows)
}

// applyQueued moves every instance in _jout, all active at step from (the
// send step's queued sends), by m (a move to the next step or to the end,
// as to builds it: never staying, no reason) and logs it, as apply_moves
// and log_moves would for m given to each. It sets only the columns such a
// move changes: the step only when it is another one. The columns it
// clears (wait_since, exit_reason, held_reason, finished_at while active)
// are NULL on almost every instance already, so a second UPDATE clears
// them only where they are not. Every column an UPDATE sets is rewritten
// for every row it matches, and committing (and checkpointing) those
// columns was a large part of queuing a step.
func applyQueued(t *tx, journey string, version int, from string, m move, now time.Time) error {
	args := []any{m.Due.UTC(), m.Status}
	also := ""
	if m.Step != from {
		also += ", step = ?::VARCHAR"
		args = append(args, m.Step)
	}
	if m.Status != StatusActive {
		also += ", finished_at = ?::TIMESTAMP"
		args = append(args, now)
	}
	if _, err := t.exec(fmt.Sprintf(q("apply_queued"), also), args...); err != nil {
		return fmt.Errorf("queued moves: %w", err)
	}
	if _, err := t.exec(q("tidy_queued")); err != nil {
		return fmt.Errorf("queued moves: %w", err)
	}
	_, err := t.exec(q("log_queued"), now, journey, version, m.Step, m.Kind)
	return err
}

// bulkMove moves every instance of (Journey, Version) due at Step by
// DueBefore (and matching Extra, an SQL fragment of queries.sql with its
// ExtraArgs) to Target in one UPDATE, logging each move: the path a
// million-person wait step takes.
type bulkMove struct {
	Journey   string
	Version   int
	Step      string
	Target    string // "" finishes the journey
	Status    string // the instances' new status
	Reason    string // exit or log reason ("" = none)
	Kind      string // log kind
	Extra     string
	ExtraArgs []any
	DueBefore time.Time // zero: now
}

// moveAll applies m at now.
func (r *Runner) moveAll(t *tx, m bulkMove, now time.Time) (int64, error) {
	if m.DueBefore.IsZero() {
		m.DueBefore = now
	}
	logStep := m.Target
	if m.Target == "" || m.Status != StatusActive {
		logStep = m.Step
	}
	if m.Target == "" && m.Status == StatusActive {
		m.Status, m.Kind = StatusCompleted, "completed"
	}
	newStep := m.Target
	if newStep == "" {
		newStep = m.Step
	}
	var finished any
	if m.Status != StatusActive {
		finished = now
	}
	where := fmt.Sprintf(q("due_at_step"), m.Extra)
	base := []any{m.Journey, m.Version, m.Step, m.DueBefore}
	args := append(append([]any{now, logStep, m.Kind, nullStr(m.Reason)}, base...), m.ExtraArgs...)
	if _, err := t.exec(`INSERT INTO journey_log SELECT ?::TIMESTAMP, journey, version, ?::VARCHAR, profile_id, id, ?::VARCHAR, ?::VARCHAR, NULL FROM journey_instances WHERE `+where, args...); err != nil {
		return 0, err
	}
	args = append(append([]any{newStep, now, m.Status, nullStr(m.Reason), finished}, base...), m.ExtraArgs...)
	return t.exec(`UPDATE journey_instances SET step = ?, seq = seq + 1, due_at = ?, wait_since = NULL, status = ?, exit_reason = ?, finished_at = ? WHERE `+where, args...)
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // read-only after initialisation
