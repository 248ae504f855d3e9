package segments

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/vm"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/duration"
)

// Schema is what the compiler knows about a store: the typed traits, and
// optionally the known consent purposes and saved segment names (used to
// reject unknown literals at compile time; nil means "not checked").
type Schema struct {
	Traits   []engine.Trait
	Purposes []string
	Segments []string
}

// SchemaFromStore reads the trait catalog, the consent purposes and the
// saved segment names of a store.
func SchemaFromStore(ctx context.Context, st *engine.Store) (Schema, error) {
	ts, err := st.Traits(ctx)
	if err != nil {
		return Schema{}, err
	}
	sc := Schema{Traits: ts}
	for _, p := range st.Policy().Purposes() {
		sc.Purposes = append(sc.Purposes, p.Name)
	}
	names, err := savedNames(ctx, st)
	if err != nil {
		return Schema{}, err
	}
	sc.Segments = names
	return sc, nil
}

// Path says how a segment is evaluated in bulk.
type Path string

// Evaluation paths.
const (
	// PathSQL: the whole expression is one DuckDB query.
	PathSQL Path = "sql"
	// PathHybrid: the conjuncts the compiler covers run in DuckDB and
	// select candidates; the whole expression then runs on the VM over
	// those candidates only.
	PathHybrid Path = "hybrid"
	// PathVM: nothing could be compiled; the VM runs over every profile.
	PathVM Path = "vm"
)

// Segment is a compiled expression: the checked AST, its SQL plan (for the
// conjuncts the SQL compiler covers) and the VM program. It is immutable
// and safe for concurrent use.
type Segment struct {
	src     string
	traits  map[string]engine.TraitType
	tree    ast.Node
	program *vm.Program
	plan    *plan
	path    Path
	reasons []string
	uses    usage
	limits  Limits
	// journey and event: compiled with ForJourney / ForEventEntry.
	journey, event bool
	// unknown are names read as traits nobody has (AllowUnknownTraits).
	unknown []string
}

// usage records what an expression reads, so loaders fetch only that.
type usage struct {
	events   bool
	consent  bool
	segments []string
	// instance: the expression reads payload, entered_at or the entry
	// event, so it holds per journey instance rather than per profile.
	instance bool
}

// Source is the expression text.
func (s *Segment) Source() string { return s.src }

// Path is the bulk evaluation path.
func (s *Segment) Path() Path { return s.path }

// Reasons explain why (part of) the expression runs on the VM; empty for
// PathSQL.
func (s *Segment) Reasons() []string { return append([]string(nil), s.reasons...) }

// SQL is the compiled query's FROM and WHERE with ? bind parameters, the
// consent and saved-segment joins abbreviated (TRUE when nothing
// compiled), for display.
func (s *Segment) SQL() string {
	if s.plan == nil {
		return "TRUE"
	}
	return s.plan.describe()
}

// UsesEvents reports whether the expression reads the events list.
func (s *Segment) UsesEvents() bool { return s.uses.events }

// Dependencies lists the saved segments the expression refers to.
func (s *Segment) Dependencies() []string { return append([]string(nil), s.uses.segments...) }

// Event is one event as expressions see it: `.event`, `.timestamp`,
// `.properties`.
type Event struct {
	Name       string         `expr:"event"`
	Timestamp  time.Time      `expr:"timestamp"`
	Properties map[string]any `expr:"properties"`
}

// journeyNames are known to journey conditions (ForJourney); eventNames
// also to event-entry filters (ForEventEntry).
var (
	journeyNames = []string{"payload", "entered_at"}            //nolint:gochecknoglobals // read-only after initialisation
	eventNames   = []string{"event", "timestamp", "properties"} //nolint:gochecknoglobals // read-only after initialisation
)

// systemFields are the profile columns expressions may read besides traits.
var systemFields = []string{"user_id", "email", "phone", "timezone"} //nolint:gochecknoglobals // read-only after initialisation

// allowedBuiltins are the expr builtins enabled; every other is disabled
// (no I/O, no environment access, nothing the SQL side could not mirror or
// that could reach outside the profile).
var allowedBuiltins = []string{ //nolint:gochecknoglobals // read-only after initialisation
	"len", "all", "none", "any", "one", "filter", "map", "count", "sum", "max", "min", "mean",
	"abs", "ceil", "floor", "round", "int", "float", "string", "trim", "upper", "lower",
	"first", "last", "hasPrefix", "hasSuffix", "indexOf", "split", "join", "reverse", "uniq",
}

func exampleOf(t engine.TraitType) any {
	switch t {
	case engine.TypeString:
		return ""
	case engine.TypeInt:
		return 0
	case engine.TypeFloat:
		return 0.0
	case engine.TypeBool:
		return false
	case engine.TypeTimestamp:
		return time.Time{}
	case engine.TypeStringList:
		return []string{}
	case engine.TypeIntList:
		return []int{}
	case engine.TypeFloatList:
		return []float64{}
	case engine.TypeBoolList:
		return []bool{}
	}
	return nil
}

var traitIdentRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// checkEnv is the type environment of docs/expressions.md for a schema, with the
// journey instance's names when compiling for journeys.
func checkEnv(traits map[string]engine.TraitType, o options) map[string]any {
	env := map[string]any{
		"events":     []Event{},
		"now":        func() time.Time { return time.Time{} },
		"ago":        func(string) time.Time { return time.Time{} },
		"days_since": func(time.Time) int { return 0 },
		"consented":  func(string, string) bool { return false },
		"in_segment": func(string) bool { return false },
		"bucket":     func(int) int { return 0 },
	}
	for _, f := range systemFields {
		env[f] = ""
	}
	for n, t := range traits {
		env[n] = exampleOf(t)
	}
	if o.journey {
		env["payload"] = map[string]any{}
		env["entered_at"] = time.Time{}
	}
	if o.event {
		env["event"] = ""
		env["timestamp"] = time.Time{}
		env["properties"] = map[string]any{}
	}
	return env
}

func baseOptions(env map[string]any, l Limits) []expr.Option {
	opts := []expr.Option{expr.Env(env), expr.AsBool(), expr.MaxNodes(uint(l.MaxNodes)), expr.Timezone("UTC"), expr.DisableAllBuiltins()}
	for _, b := range allowedBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts
}

// Compile type-checks src against the schema once and builds both the SQL
// plan and the VM program. Errors are *Error; one that exceeds the size
// bounds (Limits, WithLimits) or uses a construct without a size bound is
// also errors.Is ErrTooLarge or ErrUnbounded.
func Compile(src string, schema Schema, opts ...Option) (seg *Segment, err error) {
	defer func() {
		if r := recover(); r != nil {
			seg, err = nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("cannot compile expression: %v", r)}
		}
	}()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.limits = o.limits.withDefaults()
	if err := precheck(src, o.limits); err != nil {
		return nil, err
	}
	traits := map[string]engine.TraitType{}
	for _, t := range schema.Traits {
		if !traitIdentRE.MatchString(t.Name) || exampleOf(t.Type) == nil {
			continue // not addressable; engine never creates such names
		}
		if (o.journey && contains(journeyNames, t.Name)) || (o.event && contains(eventNames, t.Name)) {
			continue // shadowed by the journey instance's name
		}
		traits[t.Name] = t.Type
	}
	env := checkEnv(traits, o)
	var unknown []string
	if o.unknownTraits {
		unknown = undeclared(src, env, o.refuseTypos)
		for _, n := range unknown {
			env[n] = (*any)(nil) // typed as any: compares with anything, nil at run time
		}
	}
	cfg := conf.CreateNew()
	for _, opt := range baseOptions(env, o.limits) {
		opt(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	tree, err := checker.ParseCheck(src, cfg)
	if err != nil {
		return nil, toError(src, err, env)
	}
	s := &Segment{src: src, traits: traits, tree: tree.Node, limits: o.limits, journey: o.journey, event: o.event, unknown: unknown}
	if err := s.validate(tree.Node, schema); err != nil {
		return nil, err
	}
	// The VM program: the same source and environment, patched so that
	// every operation is two-valued and nil-safe (see vm.go).
	vmOpts := append(baseOptions(env, o.limits), vmFunctions()...)
	patch := &nilSafe{}
	if o.journey {
		patch.maps = append(patch.maps, "payload")
	}
	if o.event {
		patch.maps = append(patch.maps, "properties")
	}
	vmOpts = append(vmOpts, expr.Patch(patch))
	prog, err := expr.Compile(src, vmOpts...)
	if err != nil {
		return nil, toError(src, err, env)
	}
	s.program = prog
	s.buildPlan()
	return s, nil
}

// validate walks the checked tree: it refuses $env and identifiers that
// are not part of the environment, checks literal arguments of the
// language's functions, and records what the expression reads.
func (s *Segment) validate(root ast.Node, schema Schema) error {
	var verr error
	segs := map[string]bool{}
	failWith := func(cause error, n ast.Node, format string, args ...any) {
		if verr == nil {
			line, col := position(s.src, n.Location().From)
			verr = &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...), cause: cause}
		}
	}
	fail := func(n ast.Node, format string, args ...any) { failWith(nil, n, format, args...) }
	walk(root, func(n ast.Node) {
		switch x := n.(type) {
		case *ast.IdentifierNode:
			if x.Value == "$env" || strings.HasPrefix(x.Value, "$") || strings.HasPrefix(x.Value, "_") {
				fail(n, "%s is not available in segment expressions", x.Value)
			}
			if x.Value == "events" {
				s.uses.events = true
			}
			if (s.journey && contains(journeyNames, x.Value)) || (s.event && contains(eventNames, x.Value)) {
				s.uses.instance = true
			}
		case *ast.CallNode:
			id, ok := x.Callee.(*ast.IdentifierNode)
			if !ok {
				fail(n, "only functions can be called")
				return
			}
			switch id.Value {
			case "ago":
				if str, ok := x.Arguments[0].(*ast.StringNode); ok {
					if _, err := duration.Parse(str.Value); err != nil {
						fail(x.Arguments[0], "ago: %v", err)
					}
				}
			case "consented":
				s.uses.consent = true
				if str, ok := x.Arguments[0].(*ast.StringNode); ok && schema.Purposes != nil && str.Value != "*" && !contains(schema.Purposes, str.Value) {
					fail(x.Arguments[0], "consented: unknown purpose %q (known: %s)", str.Value, strings.Join(schema.Purposes, ", "))
				}
				if str, ok := x.Arguments[1].(*ast.StringNode); ok && !consent.KnownChannel(str.Value) {
					fail(x.Arguments[1], "consented: unknown channel %q (want %s)", str.Value, strings.Join(consent.Channels(), ", "))
				}
			case "in_segment":
				if str, ok := x.Arguments[0].(*ast.StringNode); ok {
					if schema.Segments != nil && !contains(schema.Segments, str.Value) {
						e := &Error{Msg: fmt.Sprintf("in_segment: no saved segment %q", str.Value), Suggestions: closest(str.Value, schema.Segments)}
						e.Line, e.Column = position(s.src, x.Arguments[0].Location().From)
						if verr == nil {
							verr = e
						}
					}
					segs[str.Value] = true
				} else {
					fail(x.Arguments[0], "in_segment: the segment name must be a string literal")
				}
			case "bucket":
				if i, ok := x.Arguments[0].(*ast.IntegerNode); ok && i.Value <= 0 {
					fail(x.Arguments[0], "bucket: n must be positive")
				}
			}
		case *ast.BinaryNode:
			if x.Operator == ".." {
				failWith(ErrUnbounded, n, rangeRefusal)
			}
			if x.Operator == "matches" {
				if str, ok := x.Right.(*ast.StringNode); ok {
					if _, err := regexp.Compile(str.Value); err != nil {
						fail(x.Right, "matches: invalid regular expression: %v", err)
					}
				}
			}
		}
	})
	for n := range segs {
		s.uses.segments = append(s.uses.segments, n)
	}
	sort.Strings(s.uses.segments)
	return verr
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// walk visits every node, parents first.
func walk(n ast.Node, fn func(ast.Node)) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return
	}
	fn(n)
	switch x := n.(type) {
	case *ast.UnaryNode:
		walk(x.Node, fn)
	case *ast.BinaryNode:
		walk(x.Left, fn)
		walk(x.Right, fn)
	case *ast.ChainNode:
		walk(x.Node, fn)
	case *ast.MemberNode:
		walk(x.Node, fn)
		walk(x.Property, fn)
	case *ast.SliceNode:
		walk(x.Node, fn)
		walk(x.From, fn)
		walk(x.To, fn)
	case *ast.CallNode:
		walk(x.Callee, fn)
		for _, a := range x.Arguments {
			walk(a, fn)
		}
	case *ast.BuiltinNode:
		for _, a := range x.Arguments {
			walk(a, fn)
		}
	case *ast.PredicateNode:
		walk(x.Node, fn)
	case *ast.ConditionalNode:
		walk(x.Cond, fn)
		walk(x.Exp1, fn)
		walk(x.Exp2, fn)
	case *ast.VariableDeclaratorNode:
		walk(x.Value, fn)
		walk(x.Expr, fn)
	case *ast.SequenceNode:
		for _, a := range x.Nodes {
			walk(a, fn)
		}
	case *ast.ArrayNode:
		for _, a := range x.Nodes {
			walk(a, fn)
		}
	case *ast.MapNode:
		for _, a := range x.Pairs {
			walk(a, fn)
		}
	case *ast.PairNode:
		walk(x.Key, fn)
		walk(x.Value, fn)
	}
}
