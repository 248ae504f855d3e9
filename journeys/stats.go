package journeys

import (
	"context"
	"database/sql"
	"sort"
)

// StepStats counts what happened at one step.
type StepStats struct {
	Step string `json:"step"`
	Kind string `json:"kind"`
	// Entered counts arrivals at the step.
	Entered int64 `json:"entered"`
	// Waiting is how many people are at the step now.
	Waiting int64 `json:"waiting"`
	Sent    int64 `json:"sent"`
	// Skipped counts skipped sends by reason.
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// Held counts holds (quiet hours) by reason.
	Held   map[string]int64 `json:"held,omitempty"`
	Failed int64            `json:"failed"`
	// Resent counts sends handed to a provider again because a process
	// died while they were in flight (docs/journeys.md, Crash safety).
	Resent    int64 `json:"resent"`
	Pending   int64 `json:"pending"`
	Converted int64 `json:"converted"`
	Exited    int64 `json:"exited"`
	Completed int64 `json:"completed"`
}

// Stats summarises a journey across its versions.
type Stats struct {
	Journey   string      `json:"journey"`
	Entered   int64       `json:"entered"`
	Active    int64       `json:"active"`
	Completed int64       `json:"completed"`
	Converted int64       `json:"converted"`
	Exited    int64       `json:"exited"`
	Steps     []StepStats `json:"steps"`
}

// Stats counts, per step, how many people entered, were sent, skipped (by
// reason), held, failed, converted and exited.
func (r *Runner) Stats(ctx context.Context, name string) (Stats, error) {
	info, err := r.Get(ctx, name)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Journey: name}
	steps := map[string]*StepStats{}
	var order []string
	get := func(id string) *StepStats {
		if s, ok := steps[id]; ok {
			return s
		}
		s := &StepStats{Step: id, Skipped: map[string]int64{}, Held: map[string]int64{}}
		steps[id] = s
		order = append(order, id)
		return s
	}
	// Steps of the current version first, in spec order.
	if spec, err := r.spec(ctx, name, info.CurrentVersion); err == nil {
		for _, s := range spec.Steps {
			get(s.ID).Kind = string(s.Kind)
		}
	}
	if err := eachRow(ctx, r.db, q("stats_log"), []any{name}, func(rows *sql.Rows) error {
		var step, kind string
		var reason sql.NullString
		var n int64
		if err := rows.Scan(&step, &kind, &reason, &n); err != nil {
			return err
		}
		s := get(step)
		switch kind {
		case "entered":
			st.Entered += n
			s.Entered += n
		case "step":
			s.Entered += n
		case "sent":
			s.Sent += n
		case "skipped":
			s.Skipped[reason.String] += n
		case "held":
			s.Held[reason.String] += n
		case "failed":
			s.Failed += n
		case "resent":
			s.Resent += n
		case "converted":
			s.Converted += n
		case "exited":
			s.Exited += n
		case "completed":
			s.Completed += n
		}
		return nil
	}); err != nil {
		return Stats{}, err
	}
	if err := eachRow(ctx, r.db, q("stats_instances"), []any{name}, func(rows *sql.Rows) error {
		var step, status string
		var n int64
		if err := rows.Scan(&step, &status, &n); err != nil {
			return err
		}
		switch status {
		case "active":
			st.Active += n
			get(step).Waiting += n
		case "completed":
			st.Completed += n
		case "converted":
			st.Converted += n
		case "exited":
			st.Exited += n
		}
		return nil
	}); err != nil {
		return Stats{}, err
	}
	if err := eachRow(ctx, r.db, q("stats_pending"), []any{name}, func(rows *sql.Rows) error {
		var step string
		var n int64
		if err := rows.Scan(&step, &n); err != nil {
			return err
		}
		get(step).Pending += n
		return nil
	}); err != nil {
		return Stats{}, err
	}
	for _, id := range order {
		s := steps[id]
		if len(s.Skipped) == 0 {
			s.Skipped = nil
		}
		if len(s.Held) == 0 {
			s.Held = nil
		}
		st.Steps = append(st.Steps, *s)
	}
	return st, nil
}

// TickResult counts the work one tick did.
type TickResult struct {
	Entered int `json:"entered"`
	Moved   int `json:"moved"`
	Queued  int `json:"queued"`
	Sent    int `json:"sent"`
	Skipped int `json:"skipped"`
	Held    int `json:"held"`
	Failed  int `json:"failed"`
	Retried int `json:"retried"`
	// Resent counts sends handed to a provider again because a process
	// died while they were in flight (ReasonInterrupted).
	Resent    int `json:"resent"`
	Converted int `json:"converted"`
	Exited    int `json:"exited"`
	// FailedBy counts Failed by FailureCode.
	FailedBy map[string]int `json:"failed_by_reason,omitempty"`
	// Errors maps journeys whose tick failed to their error; the others
	// went on.
	Errors map[string]string `json:"errors,omitempty"`
}

func (t *TickResult) add(o TickResult) {
	t.Entered += o.Entered
	t.Moved += o.Moved
	t.Queued += o.Queued
	t.Sent += o.Sent
	t.Skipped += o.Skipped
	t.Held += o.Held
	t.Failed += o.Failed
	t.Retried += o.Retried
	t.Resent += o.Resent
	t.Converted += o.Converted
	t.Exited += o.Exited
	for k, v := range o.FailedBy {
		if t.FailedBy == nil {
			t.FailedBy = map[string]int{}
		}
		t.FailedBy[k] += v
	}
	for k, v := range o.Errors {
		if t.Errors == nil {
			t.Errors = map[string]string{}
		}
		t.Errors[k] = v
	}
}

// failedFor counts one failed send under its reason's FailureCode.
func (t *TickResult) failedFor(reason string) {
	if t.FailedBy == nil {
		t.FailedBy = map[string]int{}
	}
	t.FailedBy[FailureCode(reason)]++
}

// busy reports whether the tick changed anything.
func (t TickResult) busy() bool {
	return t.Entered+t.Moved+t.Queued+t.Sent+t.Skipped+t.Failed+t.Retried+t.Converted+t.Exited > 0
}

// journeyNames lists journeys to tick (only, when non-empty).
func (r *Runner) journeyNames(ctx context.Context, only string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT name FROM journeys ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if only == "" || n == only {
			out = append(out, n)
		}
	}
	if only != "" && len(out) == 0 {
		return nil, &NotFoundError{Name: only}
	}
	sort.Strings(out)
	return out, rows.Err()
}
