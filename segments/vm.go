package segments

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"

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

// ---------------------------------------------------------------------
// The nil-safe patch. expr's own operators raise errors on nil operands
// (`age > 30` with a missing age) where SQL yields NULL; the patch routes
// every such operation through a helper that returns false (comparisons)
// or nil (values), mirroring COALESCE(cmp, FALSE) and NULL propagation.

type nilSafe struct {
	// maps are the identifiers holding JSON objects read nil-safely
	// (payload; properties in event-entry filters).
	maps []string
}

// boolHelpers are the helpers that always return a bool.
var boolHelpers = []string{"_lt", "_le", "_gt", "_ge", "_contains", "_startsWith", "_endsWith", "_matches", "_in", "_eq", "_ne", "_truth"}

func call(name string, args ...ast.Node) ast.Node {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
}

var binaryHelpers = map[string]string{
	"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge",
	"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod", "**": "_pow", "^": "_pow",
	"contains": "_contains", "startsWith": "_startsWith", "endsWith": "_endsWith", "matches": "_matches",
	"in": "_in", "==": "_eq", "!=": "_ne",
}

var unaryBuiltinHelpers = map[string]string{
	"lower": "_lower", "upper": "_upper", "trim": "_trim", "len": "_len", "abs": "_abs",
	"ceil": "_ceil", "floor": "_floor", "round": "_round", "int": "_int", "float": "_float",
}

// truth wraps a node used as a condition so that nil reads as false.
func truth(n ast.Node) ast.Node {
	switch x := n.(type) {
	case *ast.BoolNode, *ast.UnaryNode, *ast.BuiltinNode:
		return n
	case *ast.BinaryNode:
		if x.Operator != "??" {
			return n
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (slices.Contains(boolHelpers, id.Value) || id.Value == "consented" || id.Value == "in_segment") {
			return n
		}
	}
	c := call("_truth", n)
	c.SetLocation(n.Location())
	return c
}

// nonNil reports whether a node can never evaluate to nil: literals, an
// event's .event and .timestamp, now(), ago(), bucket(), and the counting
// and quantifier builtins.
func nonNil(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return true
	case *ast.MemberNode:
		if _, ok := x.Node.(*ast.PointerNode); ok {
			if p, ok := x.Property.(*ast.StringNode); ok && (p.Value == "event" || p.Value == "timestamp") {
				return true
			}
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			switch id.Value {
			case "now", "ago", "bucket":
				return true
			}
		}
	case *ast.BuiltinNode:
		switch x.Name {
		case "count", "any", "all", "none", "one":
			return true
		}
	}
	return false
}

// jsonRooted reports whether a member access reads a JSON object binding
// (payload.a.b, payload["x"]) rather than an event inside a predicate.
func (p *nilSafe) jsonRooted(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return slices.Contains(p.maps, x.Value)
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		return ok && id.Value == "_fetch"
	}
	return false
}

func (p *nilSafe) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if p.jsonRooted(n.Node) {
			ast.Patch(node, call("_fetch", n.Node, n.Property))
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			n.Left, n.Right = truth(n.Left), truth(n.Right)
		case "==", "!=", "<", "<=", ">", ">=":
			// Two operands that are never nil keep expr's own (typed,
			// faster) operator: e.g. `.event == "x"`, `.timestamp > ago("1d")`.
			if nonNil(n.Left) && nonNil(n.Right) {
				return
			}
			ast.Patch(node, call(binaryHelpers[n.Operator], n.Left, n.Right))
		default:
			if h, ok := binaryHelpers[n.Operator]; ok {
				ast.Patch(node, call(h, n.Left, n.Right))
			}
		}
	case *ast.UnaryNode:
		switch n.Operator {
		case "not", "!":
			n.Node = truth(n.Node)
		case "-":
			ast.Patch(node, call("_neg", n.Node))
		}
	case *ast.ConditionalNode:
		n.Cond = truth(n.Cond)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "days_since" {
			ast.Patch(node, call("_days", call("now"), n.Arguments[0]))
		}
	case *ast.BuiltinNode:
		switch n.Name {
		case "all", "any", "none", "one", "filter", "count":
			if len(n.Arguments) == 2 {
				if pn, ok := n.Arguments[1].(*ast.PredicateNode); ok {
					pn.Node = truth(pn.Node)
				}
			}
		case "max", "min", "mean":
			ast.Patch(node, call("_"+n.Name, n.Arguments...))
		case "sum":
			if len(n.Arguments) == 2 {
				m := &ast.BuiltinNode{Name: "map", Arguments: n.Arguments}
				m.SetLocation(n.Location())
				ast.Patch(node, call("_sum", m))
			} else {
				ast.Patch(node, call("_sum", n.Arguments...))
			}
		default:
			if h, ok := unaryBuiltinHelpers[n.Name]; ok && len(n.Arguments) == 1 {
				ast.Patch(node, call(h, n.Arguments[0]))
			}
		}
	}
}

func safeBool(f func() bool) (b bool) {
	defer func() {
		if recover() != nil {
			b = false
		}
	}()
	return f()
}

func safeAny(f func() any) (v any) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return f()
}

func cmpHelper(f func(a, b any) bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b := p[0], p[1]
		if a == nil || b == nil {
			return false, nil
		}
		if !comparable(a, b) {
			return false, nil
		}
		return safeBool(func() bool { return f(a, b) }), nil
	}
}

// equal is expr's == made total: nil equals only nil, values of
// different kinds are unequal.
func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return safeBool(func() bool { return runtime.Equal(a, b) })
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, float64:
		return true
	}
	return false
}

func comparable(a, b any) bool {
	if isNumber(a) && isNumber(b) {
		return true
	}
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case time.Time:
		_, ok := b.(time.Time)
		return ok
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	}
	return 0, false
}

func arith(op string) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b := p[0], p[1]
		if a == nil || b == nil {
			return nil, nil
		}
		if ai, ok := asInt(a); ok {
			if bi, ok := asInt(b); ok {
				switch op {
				case "+":
					r := ai + bi
					if (r > ai) != (bi > 0) {
						return nil, nil
					}
					return r, nil
				case "-":
					r := ai - bi
					if (r < ai) != (bi > 0) {
						return nil, nil
					}
					return r, nil
				case "*":
					hi, lo := bits.Mul64(uint64(abs64(ai)), uint64(abs64(bi)))
					if hi != 0 || lo > math.MaxInt64 || ai == math.MinInt64 || bi == math.MinInt64 {
						return nil, nil
					}
					return ai * bi, nil
				case "%":
					if bi == 0 {
						return nil, nil
					}
					if bi == -1 {
						return 0, nil
					}
					return ai % bi, nil
				}
			}
		}
		if isNumber(a) && isNumber(b) {
			x, y := toFloat(a), toFloat(b)
			switch op {
			case "+":
				return x + y, nil
			case "-":
				return x - y, nil
			case "*":
				return x * y, nil
			case "/":
				if y == 0 {
					return nil, nil
				}
				return x / y, nil
			case "**":
				return math.Pow(x, y), nil
			}
			return nil, nil
		}
		switch op {
		case "+":
			if as, ok := a.(string); ok {
				if bs, ok := b.(string); ok {
					return as + bs, nil
				}
			}
			return safeAny(func() any { return runtime.Add(a, b) }), nil
		case "-":
			return safeAny(func() any { return runtime.Subtract(a, b) }), nil
		}
		return nil, nil
	}
}

func abs64(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func strHelper(f func(a, b string) bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, ok1 := p[0].(string)
		b, ok2 := p[1].(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		return f(a, b), nil
	}
}

// regexCache holds the patterns one compiled program has met. A pattern
// may come from a trait value, so the cache is bounded: past
// maxCachedPatterns further patterns are compiled on each use.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const maxCachedPatterns = 1024

func (c *regexCache) matches(a, b string) bool {
	c.mu.Lock()
	re, ok := c.m[b]
	c.mu.Unlock()
	if !ok {
		r, err := regexp.Compile(b)
		if err != nil {
			return false
		}
		re = r
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*regexp.Regexp{}
		}
		if len(c.m) < maxCachedPatterns {
			c.m[b] = r
		}
		c.mu.Unlock()
	}
	return re.MatchString(a)
}

func flatten(p []any) []any {
	if len(p) == 1 {
		if p[0] == nil {
			return nil
		}
		v := reflect.ValueOf(p[0])
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			out := make([]any, v.Len())
			for i := range out {
				out[i] = normValue(v.Index(i).Interface())
			}
			return out
		}
	}
	return p
}

// extreme is max/min over numbers (or, failing those, timestamps); other
// values, nil included, are ignored, and nothing to compare gives nil — the
// SQL side's max/min over typed values, where the rest is NULL.
func extreme(max bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		var best any
		for _, v := range flatten(p) {
			_, isTime := v.(time.Time)
			if !isNumber(v) && !isTime {
				continue
			}
			if best == nil {
				best = v
				continue
			}
			if !comparable(best, v) {
				continue
			}
			if max && safeBool(func() bool { return runtime.More(v, best) }) {
				best = v
			}
			if !max && safeBool(func() bool { return runtime.Less(v, best) }) {
				best = v
			}
		}
		return best, nil
	}
}

func vmFunctions() []expr.Option {
	cmp2 := new(func(any, any) bool)
	val2 := new(func(any, any) any)
	val1 := new(func(any) any)
	vari := new(func(...any) any)
	opts := []expr.Option{
		expr.Function("_lt", cmpHelper(func(a, b any) bool { return runtime.Less(a, b) }), cmp2),
		expr.Function("_le", cmpHelper(func(a, b any) bool { return runtime.LessOrEqual(a, b) }), cmp2),
		expr.Function("_gt", cmpHelper(func(a, b any) bool { return runtime.More(a, b) }), cmp2),
		expr.Function("_ge", cmpHelper(func(a, b any) bool { return runtime.MoreOrEqual(a, b) }), cmp2),
		expr.Function("_add", arith("+"), val2),
		expr.Function("_sub", arith("-"), val2),
		expr.Function("_mul", arith("*"), val2),
		expr.Function("_div", arith("/"), val2),
		expr.Function("_mod", arith("%"), val2),
		expr.Function("_pow", arith("**"), val2),
		expr.Function("_contains", strHelper(strings.Contains), cmp2),
		expr.Function("_startsWith", strHelper(strings.HasPrefix), cmp2),
		expr.Function("_endsWith", strHelper(strings.HasSuffix), cmp2),
		expr.Function("_matches", strHelper(new(regexCache).matches), cmp2),
		expr.Function("_in", func(p ...any) (any, error) {
			if p[1] == nil {
				return false, nil
			}
			return safeBool(func() bool { return runtime.In(p[0], p[1]) }), nil
		}, cmp2),
		expr.Function("_eq", func(p ...any) (any, error) { return equal(p[0], p[1]), nil }, cmp2),
		expr.Function("_ne", func(p ...any) (any, error) { return !equal(p[0], p[1]), nil }, cmp2),
		expr.Function("_fetch", func(p ...any) (any, error) { return fetch(p[0], p[1]), nil }, new(func(any, any) any)),
		expr.Function("_truth", func(p ...any) (any, error) { return p[0] == true, nil }, new(func(any) bool)),
		expr.Function("_neg", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				if x == math.MinInt64 {
					return nil, nil
				}
				return -x, nil
			case float64:
				return -x, nil
			}
			return nil, nil
		}, val1),
		expr.Function("_days", func(p ...any) (any, error) {
			now, ok1 := p[0].(time.Time)
			t, ok2 := p[1].(time.Time)
			if !ok1 || !ok2 {
				return nil, nil
			}
			return daysBetween(t, now), nil
		}, new(func(any, any) any)),
		expr.Function("_lower", strFn(strings.ToLower), val1),
		expr.Function("_upper", strFn(strings.ToUpper), val1),
		expr.Function("_trim", strFn(func(s string) string { return strings.Trim(s, trimChars) }), val1),
		expr.Function("_len", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case nil:
				return nil, nil
			case string:
				return utf8.RuneCountInString(x), nil
			}
			v := reflect.ValueOf(p[0])
			switch v.Kind() {
			case reflect.Slice, reflect.Array, reflect.Map:
				return v.Len(), nil
			}
			return nil, nil
		}, val1),
		expr.Function("_abs", numFn(func(i int) any {
			if i == math.MinInt64 {
				return nil
			}
			return abs64(i)
		}, func(f float64) any { return math.Abs(f) }), val1),
		expr.Function("_ceil", numFn(func(i int) any { return i }, func(f float64) any { return math.Ceil(f) }), val1),
		expr.Function("_floor", numFn(func(i int) any { return i }, func(f float64) any { return math.Floor(f) }), val1),
		expr.Function("_round", numFn(func(i int) any { return i }, func(f float64) any { return math.Round(f) }), val1),
		expr.Function("_int", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				return x, nil
			case float64:
				t := math.Trunc(x)
				if math.IsNaN(t) || t >= 9.223372036854775807e18 || t < -9.223372036854775808e18 {
					return nil, nil
				}
				return int(t), nil
			case string:
				i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
				if err != nil {
					return nil, nil
				}
				return int(i), nil
			}
			return nil, nil
		}, val1),
		expr.Function("_float", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				return float64(x), nil
			case float64:
				return x, nil
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil {
					return nil, nil
				}
				return f, nil
			}
			return nil, nil
		}, val1),
		expr.Function("_max", extreme(true), vari),
		expr.Function("_min", extreme(false), vari),
		expr.Function("_mean", func(p ...any) (any, error) {
			var sum float64
			n := 0
			for _, v := range flatten(p) {
				if isNumber(v) {
					sum += toFloat(v)
					n++
				}
			}
			if n == 0 {
				return nil, nil
			}
			return sum / float64(n), nil
		}, vari),
		expr.Function("_sum", func(p ...any) (any, error) {
			isum, fsum, float := 0, 0.0, false
			for _, v := range flatten(p) {
				switch x := v.(type) {
				case int:
					isum += x
				case float64:
					fsum += x
					float = true
				}
			}
			if float {
				return fsum + float64(isum), nil
			}
			return isum, nil
		}, vari),
	}
	return opts
}

// fetch reads key from a JSON value: a member of an object, an element of
// an array (negative indexes count from the end); anything else is nil.
func fetch(v, key any) any {
	switch x := v.(type) {
	case map[string]any:
		if k, ok := key.(string); ok {
			return x[k]
		}
	case []any:
		if i, ok := asInt(key); ok {
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				return x[i]
			}
		}
	}
	return nil
}

func strFn(f func(string) string) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		s, ok := p[0].(string)
		if !ok {
			return nil, nil
		}
		return f(s), nil
	}
}

func numFn(fi func(int) any, ff func(float64) any) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		switch x := p[0].(type) {
		case int:
			return fi(x), nil
		case float64:
			return ff(x), nil
		}
		return nil, nil
	}
}
