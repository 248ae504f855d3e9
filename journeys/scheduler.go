package journeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"sync"
	"time"
)

// dueSlot computes, from the last slot fired for a schedule (persisted),
// the slot to fire now. robfig/cron only computes next instants. missed
// counts slots that came due and will never run (a restart, a long tick).
// Policy run_once fires the latest due slot if it is at most deadline late
// (deadline 0: no limit); skip fires only a slot that is the sole due one
// and within the deadline. A schedule never seen before starts at start
// (zero start: fire at once, used for the first segment check).
func (r *Runner) dueSlot(ctx context.Context, schedID, spec string, start, now time.Time, policy string, deadline time.Duration) (slot time.Time, fire bool, missed int64, err error) {
	sched, err := ParseCron(spec)
	if err != nil {
		return time.Time{}, false, 0, err
	}
	var last time.Time
	err = r.db.QueryRowContext(ctx, `SELECT last_slot FROM journey_schedules WHERE schedule = ?`, schedID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		if start.IsZero() {
			return now, true, 0, nil
		}
		last, err = start, nil
	} else if err != nil {
		return time.Time{}, false, 0, err
	}
	var due []time.Time
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("cron %q: %v", spec, p)
			}
		}()
		t := last
		for i := 0; i < 100000; i++ {
			n := sched.Next(t)
			if n.IsZero() || n.After(now) {
				break
			}
			due = append(due, n)
			t = n
		}
	}()
	if err != nil || len(due) == 0 {
		return time.Time{}, false, 0, err
	}
	latest := due[len(due)-1]
	inTime := deadline <= 0 || now.Sub(latest) <= deadline
	switch {
	case policy == MissedSkip && len(due) == 1 && inTime:
		return latest, true, 0, nil
	case policy != MissedSkip && inTime:
		return latest, true, int64(len(due) - 1), nil
	}
	return latest, false, int64(len(due)), nil
}

// claim claims (schedule, slot) once and records it as the last slot fired
// (or passed, when missed) in t. It reports whether this call claimed it.
func (r *Runner) claim(t *tx, schedID, spec string, slot time.Time, missed int64, now time.Time) (bool, error) {
	n, err := t.exec(`INSERT INTO journey_slot_claims VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, schedID, slot, now)
	if err != nil {
		return false, err
	}
	u, err := t.exec(`UPDATE journey_schedules SET spec = ?, last_slot = greatest(last_slot, ?), missed = missed + ? WHERE schedule = ?`, spec, slot, missed, schedID)
	if err != nil {
		return false, err
	}
	if u == 0 {
		if _, err := t.exec(`INSERT INTO journey_schedules VALUES (?, ?, ?, ?)`, schedID, spec, slot, missed); err != nil {
			return false, err
		}
	}
	if missed > 0 {
		name := schedID
		if i := len(name) - len("/entry"); i > 0 && name[i:] == "/entry" {
			name = name[:i]
		}
		if _, err := t.exec(`UPDATE journeys SET missed_slots = missed_slots + ? WHERE name = ?`, missed, name); err != nil {
			return false, err
		}
		r.log.Warn("schedule slots missed", "schedule", schedID, "missed", missed)
	}
	return n == 1, nil
}

// Tick advances every journey (or only the named one) once: entries due
// now, withdrawals, waits, every step with people due, then the outbox. A
// journey whose tick fails is marked unhealthy and the others go on; the
// error is in the result.
func (r *Runner) Tick(ctx context.Context, only string) (TickResult, error) {
	r.tickMu.Lock()
	defer r.tickMu.Unlock()
	var res TickResult
	names, err := r.journeyNames(ctx, only)
	if err != nil {
		return res, err
	}
	now := r.now()
	for _, name := range names {
		jr, err := r.safeTickJourney(ctx, name, now)
		res.add(jr)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err != nil {
			if res.Errors == nil {
				res.Errors = map[string]string{}
			}
			res.Errors[name] = err.Error()
			r.log.Error("journey tick failed", "journey", name, "err", err)
			if pe := (*PanicError)(nil); errors.As(err, &pe) {
				r.log.Error("journey tick panicked", "journey", name, "stack", pe.Stack)
			}
		}
		if herr := r.setHealth(ctx, name, err, now); herr != nil {
			return res, herr
		}
	}
	d, err := r.safeDispatch(ctx, only)
	res.add(d)
	return res, err
}

// safeDispatch is dispatch with a panic turned into its error, so a bad
// adapter or message never takes the process down.
func (r *Runner) safeDispatch(ctx context.Context, only string) (res TickResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: fmt.Sprint(p), Stack: string(debug.Stack())}
		}
	}()
	return r.dispatch(ctx, only)
}

func (r *Runner) safeTickJourney(ctx context.Context, name string, now time.Time) (res TickResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: fmt.Sprint(p), Stack: string(debug.Stack())}
		}
	}()
	return r.tickJourney(ctx, name, now)
}

func (r *Runner) setHealth(ctx context.Context, name string, tickErr error, now time.Time) error {
	health, msg := "ok", ""
	if tickErr != nil {
		health, msg = "unhealthy", tickErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
	}
	return r.write(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE journeys SET health = ?, last_error = ?, last_run_at = ? WHERE name = ?`, health, nullStr(msg), now, name)
		return err
	})
}

func (r *Runner) tickJourney(ctx context.Context, name string, now time.Time) (TickResult, error) {
	var res TickResult
	var state string
	var cur int
	var published time.Time
	if err := r.db.QueryRowContext(ctx, `SELECT j.state, j.current_version, v.published_at FROM journeys j JOIN journey_versions v ON v.journey = j.name AND v.version = j.current_version WHERE j.name = ?`, name).Scan(&state, &cur, &published); err != nil {
		return res, err
	}
	if state == StatePaused {
		return res, nil
	}
	spec, err := r.spec(ctx, name, cur)
	if err != nil {
		return res, err
	}
	n, err := r.entries(ctx, spec, cur, published, now)
	res.Entered += n
	if err != nil {
		return res, err
	}
	var versions []int
	if err := eachRow(ctx, r.db, `SELECT DISTINCT version FROM journey_instances WHERE journey = ? AND status = 'active' ORDER BY 1`, []any{name}, func(rows *sql.Rows) error {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		versions = append(versions, v)
		return nil
	}); err != nil {
		return res, err
	}
	for _, v := range versions {
		vs, err := r.spec(ctx, name, v)
		if err != nil {
			return res, err
		}
		vr, err := r.advance(ctx, vs, v, now)
		res.add(vr)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// RunUntilIdle ticks until a tick finds nothing to do (for batch use and
// tests), at most maxTicks times (0 = 1000). The clock does not move: work
// due later stays due later.
func (r *Runner) RunUntilIdle(ctx context.Context, only string) (TickResult, error) {
	var total TickResult
	for i := 0; i < 1000; i++ {
		res, err := r.Tick(ctx, only)
		total.add(res)
		if err != nil {
			return total, err
		}
		if !res.busy() {
			return total, nil
		}
	}
	return total, fmt.Errorf("journeys: still busy after 1000 ticks")
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Interval between ticks. Default 10s.
	Interval time.Duration
	// Journey limits the scheduler to one journey ("" = all).
	Journey string
	// OnTick, when set, receives each tick's result (metrics, logs).
	OnTick func(TickResult, error)
	// FailureWindow is the span Health's Sends covers. Default 15m.
	FailureWindow time.Duration
	// DegradedRatio and DegradedMinimum mark sends degraded when the window
	// holds at least DegradedMinimum failures that are at least
	// DegradedRatio of its attempts. Defaults 0.05 and 10.
	DegradedRatio   float64
	DegradedMinimum int
}

// SchedulerHealth is how the scheduler's last tick went.
type SchedulerHealth struct {
	// Healthy: the last tick finished without error and every journey
	// ticked; true before the first tick.
	Healthy bool `json:"healthy"`
	// LastTick is when the last tick finished (zero: none yet).
	LastTick time.Time `json:"last_tick,omitzero"`
	// Error is the last tick's own error (a failed dispatch, a recovered
	// panic), "" when none.
	Error string `json:"error,omitempty"`
	// Journeys maps each journey whose last tick failed to its error.
	Journeys map[string]string `json:"journeys,omitempty"`
	// Sends is how provider calls went over the failure window.
	Sends SendHealth `json:"sends"`
}

// Scheduler owns the runner's loop, Prometheus rule-group style: it ticks
// on an interval and when nudged, keeps going when a journey fails (the
// journey is marked unhealthy) or a tick panics (recovered, reported in
// Health), and needs no state of its own beyond that report: every slot
// fired, claim and person's position is in the database, so a restart
// resumes exactly. tact serve and tact journey run both use it.
type Scheduler struct {
	r     *Runner
	cfg   SchedulerConfig
	nudge chan struct{}

	mu     sync.Mutex
	health SchedulerHealth
	sends  sendWindow
}

// NewScheduler returns a scheduler for r.
func NewScheduler(r *Runner, cfg SchedulerConfig) *Scheduler {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = DefaultFailureWindow
	}
	if cfg.DegradedRatio <= 0 {
		cfg.DegradedRatio = DefaultDegradedRatio
	}
	if cfg.DegradedMinimum <= 0 {
		cfg.DegradedMinimum = DefaultDegradedMinimum
	}
	return &Scheduler{r: r, cfg: cfg, nudge: make(chan struct{}, 1), health: SchedulerHealth{Healthy: true},
		sends: sendWindow{span: cfg.FailureWindow, ratio: cfg.DegradedRatio, minimum: cfg.DegradedMinimum}}
}

// Nudge asks the loop to tick as soon as the current tick ends (new data
// arrived). It never blocks.
func (s *Scheduler) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// Health reports how the last tick went.
func (s *Scheduler) Health() SchedulerHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	h.Journeys = maps.Clone(h.Journeys)
	h.Sends = s.sends.health()
	return h
}

// Run ticks until ctx is done; a tick in progress runs to completion
// (sends are recorded before and after each provider call). A tick error
// or panic is logged, reported through OnTick and Health; the loop goes on.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	s.mu.Lock()
	if err := s.sends.restore(ctx, s.r, s.r.now()); err != nil {
		s.r.log.Error("scheduler: recent failures not restored", "err", err)
	}
	s.mu.Unlock()
	for {
		res, err := s.tick(context.WithoutCancel(ctx))
		if err != nil {
			s.r.log.Error("scheduler tick failed", "err", err)
		}
		now := s.r.now()
		s.mu.Lock()
		s.health = SchedulerHealth{Healthy: err == nil && len(res.Errors) == 0, LastTick: now, Journeys: res.Errors}
		if err != nil {
			s.health.Error = err.Error()
		}
		s.sends.add(now, res.Sent, res.FailedBy)
		s.mu.Unlock()
		if s.cfg.OnTick != nil {
			s.cfg.OnTick(res, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// tick is one Runner.Tick with any panic turned into its error.
func (s *Scheduler) tick(ctx context.Context) (res TickResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: fmt.Sprint(p), Stack: string(debug.Stack())}
		}
	}()
	return s.r.Tick(ctx, s.cfg.Journey)
}

// PanicError is a panic recovered in a tick.
type PanicError struct {
	Value string
	Stack string
}

func (e *PanicError) Error() string { return "panic: " + e.Value }
