package journeys

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/bucket"
)

// Subject is one person an expression is evaluated for, with the journey
// context expressions may use besides the profile (entered_at, payload).
type Subject struct {
	ProfileID int64
	EnteredAt time.Time
	Payload   map[string]any
}

// Evaluator evaluates the expressions of DESIGN §5 for journeys: segment and
// audience entries, exit conditions, goals, branch conditions and condition
// waits. Package segments provides the production implementation (SQL for
// audiences, expr's VM for single people); NewExprEvaluator is a
// self-contained VM-only fallback used until then and in tests.
type Evaluator interface {
	// Check compiles src and reports why it does not compile.
	Check(src string) error
	// Members lists every profile for which src is true at `at`.
	Members(ctx context.Context, src string, at time.Time) ([]int64, error)
	// Match evaluates src for each subject at `at`; out[i] is subjects[i]'s
	// result. A runtime error (e.g. a comparison with a missing trait) is
	// false, as DESIGN §5's two-valued semantics say.
	Match(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error)
}

// exprEvaluator runs expressions on expr's VM over profile snapshots.
type exprEvaluator struct {
	store    *engine.Store
	programs sync.Map // src → *vm.Program
}

// NewExprEvaluator returns the VM-only evaluator over store.
func NewExprEvaluator(store *engine.Store) Evaluator { return &exprEvaluator{store: store} }

type syntaxChecker struct{}

func (syntaxChecker) Check(src string) error { _, err := compileProfileExpr(src); return err }

func profileEnvTypes() map[string]any {
	return map[string]any{
		"now":        func() time.Time { return time.Time{} },
		"ago":        func(string) time.Time { return time.Time{} },
		"days_since": func(any) int { return 0 },
		"bucket":     func(int) int { return 0 },
		"consented":  func(string, string) bool { return false },
		"in_segment": func(string) bool { return false },
		"events":     []map[string]any{},
		"entered_at": time.Time{},
		"payload":    map[string]any{},
	}
}

func compileProfileExpr(src string) (*vm.Program, error) {
	if strings.Contains(src, "$env") {
		return nil, fmt.Errorf("$env is not allowed")
	}
	return expr.Compile(src, expr.Env(profileEnvTypes()), expr.AllowUndefinedVariables(), expr.AsBool(), expr.Timezone("UTC"), expr.MaxNodes(2000))
}

func compileEventCondition(src string) (*vm.Program, error) {
	if strings.Contains(src, "$env") {
		return nil, fmt.Errorf("$env is not allowed")
	}
	env := map[string]any{"event": "", "timestamp": time.Time{}, "properties": map[string]any{}}
	return expr.Compile(src, expr.Env(env), expr.AsBool(), expr.Timezone("UTC"), expr.MaxNodes(2000))
}

// matchEvent evaluates an event condition; errors are false.
func matchEvent(p *vm.Program, name string, ts time.Time, props map[string]any) bool {
	if props == nil {
		props = map[string]any{}
	}
	out, err := expr.Run(p, map[string]any{"event": name, "timestamp": ts, "properties": props})
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

func (e *exprEvaluator) Check(src string) error { _, err := e.program(src); return err }

func (e *exprEvaluator) program(src string) (*vm.Program, error) {
	if p, ok := e.programs.Load(src); ok {
		return p.(*vm.Program), nil
	}
	p, err := compileProfileExpr(src)
	if err != nil {
		return nil, err
	}
	e.programs.Store(src, p)
	return p, nil
}

func (e *exprEvaluator) Members(ctx context.Context, src string, at time.Time) ([]int64, error) {
	p, err := e.program(src)
	if err != nil {
		return nil, err
	}
	rows, err := e.store.DB().QueryContext(ctx, `SELECT * FROM profiles ORDER BY id`)
	if err != nil {
		return nil, err
	}
	snaps, err := scanProfiles(rows)
	if err != nil {
		return nil, err
	}
	var evs map[int64][]map[string]any
	if strings.Contains(src, "events") {
		if evs, err = loadEvents(ctx, e.store.DB(), nil); err != nil {
			return nil, err
		}
	}
	var out []int64
	for _, s := range snaps {
		id := s["id"].(int64)
		if e.run(ctx, p, s, evs[id], Subject{ProfileID: id}, at) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (e *exprEvaluator) Match(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error) {
	p, err := e.program(src)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	ids := make([]int64, len(subjects))
	for i, s := range subjects {
		ids[i] = s.ProfileID
	}
	byID := map[int64]map[string]any{}
	for _, chunk := range chunks(ids, 20000) {
		rows, err := e.store.DB().QueryContext(ctx, `SELECT * FROM profiles WHERE id IN (`+intList(chunk)+`)`)
		if err != nil {
			return nil, err
		}
		snaps, err := scanProfiles(rows)
		if err != nil {
			return nil, err
		}
		for _, s := range snaps {
			byID[s["id"].(int64)] = s
		}
	}
	var evs map[int64][]map[string]any
	if strings.Contains(src, "events") {
		if evs, err = loadEvents(ctx, e.store.DB(), ids); err != nil {
			return nil, err
		}
	}
	for i, s := range subjects {
		snap, ok := byID[s.ProfileID]
		if !ok {
			continue
		}
		out[i] = e.run(ctx, p, snap, evs[s.ProfileID], s, at)
	}
	return out, nil
}

func (e *exprEvaluator) run(ctx context.Context, p *vm.Program, snap map[string]any, evs []map[string]any, s Subject, at time.Time) bool {
	env := make(map[string]any, len(snap)+10)
	for k, v := range snap {
		env[k] = v
	}
	if evs == nil {
		evs = []map[string]any{}
	}
	env["events"] = evs
	env["entered_at"] = s.EnteredAt
	payload := s.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	env["payload"] = payload
	env["now"] = func() time.Time { return at }
	env["ago"] = func(d string) time.Time {
		dur, err := ParseDuration(d)
		if err != nil {
			panic(err)
		}
		return at.Add(-dur)
	}
	env["days_since"] = func(t any) int {
		tt, ok := t.(time.Time)
		if !ok {
			panic("days_since of a missing time")
		}
		return int(at.Sub(tt) / (24 * time.Hour))
	}
	env["bucket"] = func(n int) int { return bucket.Of(s.ProfileID, n) }
	env["consented"] = func(purpose, channel string) bool {
		d, err := e.store.EvaluateConsent(ctx, s.ProfileID, purpose, channel, at)
		return err == nil && d.Granted
	}
	env["in_segment"] = func(string) bool { panic("in_segment needs package segments") }
	out, err := expr.Run(p, env)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

func scanProfiles(rows *sql.Rows) ([]map[string]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = plain(vals[i])
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// plain converts driver values to what expressions and templates expect.
func plain(v any) any {
	switch x := v.(type) {
	case int32:
		return int(x)
	case int64:
		return x
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return v
}

// loadEvents loads the events of ids (nil = everyone), grouped by profile.
func loadEvents(ctx context.Context, db *sql.DB, ids []int64) (map[int64][]map[string]any, error) {
	out := map[int64][]map[string]any{}
	load := func(where string) error {
		rows, err := db.QueryContext(ctx, `SELECT profile_id, event, ts, CAST(properties AS VARCHAR) FROM events `+where+` ORDER BY profile_id, ts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			var ts time.Time
			var props sql.NullString
			if err := rows.Scan(&id, &name, &ts, &props); err != nil {
				return err
			}
			pm := map[string]any{}
			if props.Valid {
				_ = json.Unmarshal([]byte(props.String), &pm)
			}
			out[id] = append(out[id], map[string]any{"event": name, "timestamp": ts, "properties": pm})
		}
		return rows.Err()
	}
	if ids == nil {
		return out, load("")
	}
	for _, c := range chunks(ids, 20000) {
		if err := load("WHERE profile_id IN (" + intList(c) + ")"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// intList renders integers for an IN list. Only Go-formatted integers are
// ever spliced into SQL this way.
func intList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	if len(ids) == 0 {
		b.WriteString("NULL")
	}
	return b.String()
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
