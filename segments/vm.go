package segments

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/tactcdp/tact/engine/bucket"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/duration"
)

// Snapshot is one profile as the VM sees it.
type Snapshot struct {
	ID int64
	// Fields holds traits and the system fields user_id, email, phone and
	// timezone. An absent key or a nil value is missing.
	Fields map[string]any
	// Events in timestamp order (oldest first).
	Events []Event
	// Consent is the profile's consent ledger (consented()).
	Consent []consent.Entry
	// Segments are the saved segments the profile is a member of.
	Segments map[string]bool
}

// Env is the evaluation context shared by all profiles of one run.
type Env struct {
	Now    time.Time
	Policy consent.Policy
}

// trimChars is what trim() removes on both paths (DuckDB's trim takes an
// explicit set; Go's TrimSpace would also remove Unicode spaces).
const trimChars = " \t\n\r"

// Eval runs the VM program for one profile. A runtime error makes the
// result false (and is returned for diagnostics): two-valued semantics.
func (s *Segment) Eval(snap *Snapshot, env Env) (bool, error) {
	return s.NewEvaluator(env).eval(snap)
}

// Evaluator runs one segment for many snapshots on one goroutine, reusing
// its VM and its environment map. It is not safe for concurrent use; make
// one per goroutine (the Segment itself is shared).
type Evaluator struct {
	seg  *Segment
	m    vm.VM
	vars map[string]any
	cur  *Snapshot
}

// NewEvaluator returns an evaluator at the evaluation context env.
func (s *Segment) NewEvaluator(env Env) *Evaluator {
	e := &Evaluator{seg: s}
	now := env.Now.UTC().Truncate(time.Microsecond)
	policy := env.Policy
	e.vars = make(map[string]any, len(s.traits)+12)
	for _, n := range s.unknown {
		e.vars[n] = nil
	}
	e.vars["now"] = func() time.Time { return now }
	e.vars["ago"] = func(d string) time.Time {
		dur, err := duration.Parse(d)
		if err != nil {
			panic(err)
		}
		return now.Add(-dur)
	}
	e.vars["days_since"] = func(t time.Time) int { return daysBetween(t, now) }
	e.vars["consented"] = func(p, c string) bool {
		return consent.Evaluate(policy, e.cur.Consent, p, c, now).Granted
	}
	e.vars["in_segment"] = func(n string) bool { return e.cur.Segments[n] }
	e.vars["bucket"] = func(n int) int {
		if n <= 0 {
			panic("bucket: n must be positive")
		}
		return bucket.Of(e.cur.ID, n)
	}
	return e
}

// Eval evaluates one snapshot; runtime errors count as false.
func (e *Evaluator) Eval(snap *Snapshot) bool {
	ok, _ := e.eval(snap)
	return ok
}

func (e *Evaluator) eval(snap *Snapshot) (ok bool, err error) {
	return e.evalSubject(snap, nil)
}

// EvalSubject evaluates one snapshot for one journey instance of a segment
// compiled for journeys (nil: none, so payload is empty and entered_at the
// zero time); runtime errors count as false and are returned.
func (e *Evaluator) EvalSubject(snap *Snapshot, subj *Subject) (bool, error) {
	return e.evalSubject(snap, subj)
}

// evalSubject is EvalSubject.
func (e *Evaluator) evalSubject(snap *Snapshot, subj *Subject) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("segment: %v", r)
		}
	}()
	e.cur = snap
	if e.seg.journey {
		e.setInstance(subj)
	}
	for n := range e.seg.traits {
		e.vars[n] = normValue(snap.Fields[n])
	}
	for _, f := range systemFields {
		e.vars[f] = normValue(snap.Fields[f])
	}
	evs := snap.Events
	if evs == nil {
		evs = []Event{}
	}
	e.vars["events"] = evs
	out, err := e.m.Run(e.seg.program, e.vars)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// normValue maps store values to the environment's types: integers are
// int, lists are []any of the same.
func normValue(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int32:
		return int(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = normValue(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			out[k] = normValue(it)
		}
		return out
	}
	return v
}

// setInstance binds the journey instance's names.
func (e *Evaluator) setInstance(subj *Subject) {
	var s Subject
	if subj != nil {
		s = *subj
	}
	payload, _ := normValue(s.Payload).(map[string]any)
	if payload == nil {
		payload = map[string]any{}
	}
	e.vars["payload"] = payload
	e.vars["entered_at"] = s.EnteredAt.UTC()
	if e.seg.event {
		ev := Event{Properties: map[string]any{}}
		if s.Event != nil {
			ev = *s.Event
		}
		props, _ := normValue(ev.Properties).(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		e.vars["event"] = ev.Name
		e.vars["timestamp"] = ev.Timestamp.UTC()
		e.vars["properties"] = props
	}
}

// daysBetween is whole days from t to now, truncated toward zero.
func daysBetween(t, now time.Time) int {
	us := now.UnixMicro() - t.UnixMicro()
	return int(us / 86_400_000_000)
}
