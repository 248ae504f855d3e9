package segments_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

// source yields choices: from math/rand for the generated tests, from the
// fuzzer's bytes for FuzzAgreement (exhausted bytes read as zeros).
type source interface{ intn(n int) int }

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) intn(n int) int {
	if s.i >= len(s.b) {
		return 0
	}
	v := int(s.b[s.i])
	s.i++
	return v % n
}

// genSchema describes the traits an expression generator may use.
type genSchema struct {
	str, num, flt, boolean, ts, list []string
	strVals                          []string
	numVals                          []string
	props                            [][2]string // key, kind (num|str)
	events                           []string
}

type exprGen struct {
	s     source
	sc    genSchema
	depth int
}

func (g *exprGen) pick(list []string) string { return list[g.s.intn(len(list))] }

func (g *exprGen) strLit() string {
	v := g.pick(g.sc.strVals)
	return strconv.Quote(v)
}

func (g *exprGen) numLit() string { return g.pick(g.sc.numVals) }

// numExpr is a numeric value that may be missing.
func (g *exprGen) numExpr() string {
	all := append(append([]string{}, g.sc.num...), g.sc.flt...)
	switch g.s.intn(9) {
	case 0:
		return "(" + g.pick(all) + " + " + g.numLit() + ")"
	case 1:
		return "(" + g.pick(all) + " * " + g.numLit() + ")"
	case 2:
		return "(" + g.pick(all) + " / " + g.numLit() + ")"
	case 3:
		if len(g.sc.num) > 0 {
			return "(" + g.pick(g.sc.num) + " % " + g.pick([]string{"0", "2", "3", "-7"}) + ")"
		}
	case 4:
		return "(" + g.pick(all) + " ?? " + g.numLit() + ")"
	case 5:
		return g.pick([]string{"int", "abs", "round", "floor", "ceil"}) + "(" + g.pick(all) + ")"
	case 6:
		if len(g.sc.str) > 0 {
			return "len(" + g.pick(g.sc.str) + ")"
		}
	case 7:
		if len(g.sc.ts) > 0 {
			return "days_since(" + g.pick(g.sc.ts) + ")"
		}
	}
	return g.pick(all)
}

func (g *exprGen) cmp() string {
	return g.pick([]string{"==", "!=", "<", "<=", ">", ">="})
}

func (g *exprGen) pred() string {
	switch g.s.intn(6) {
	case 0, 1:
		return ".event == " + strconv.Quote(g.pick(g.sc.events))
	case 2:
		return ".timestamp " + g.pick([]string{">", ">=", "<"}) + " ago(" + strconv.Quote(g.pick([]string{"1d", "7d", "30d", "90d", "365d", "12h"})) + ")"
	case 3:
		p := g.sc.props[g.s.intn(len(g.sc.props))]
		if p[1] == "num" {
			return ".properties." + p[0] + " " + g.cmp() + " " + g.numLit()
		}
		return ".properties." + p[0] + " " + g.pick([]string{"==", "!="}) + " " + g.strLit()
	case 4:
		p := g.sc.props[g.s.intn(len(g.sc.props))]
		return ".properties." + p[0] + " == nil"
	}
	return g.pred() + " and " + g.pred()
}

func (g *exprGen) atom() string {
	switch g.s.intn(16) {
	case 0, 1:
		if len(g.sc.str) > 0 {
			return g.pick(g.sc.str) + " " + g.pick([]string{"==", "!="}) + " " + g.strLit()
		}
	case 2, 3:
		return g.numExpr() + " " + g.cmp() + " " + g.numLit()
	case 4:
		if len(g.sc.str) > 0 {
			return g.pick(g.sc.str) + " " + g.pick([]string{"in", "not in"}) + " [" + g.strLit() + ", " + g.strLit() + "]"
		}
	case 5:
		if len(g.sc.str) > 0 {
			return g.pick(g.sc.str) + " " + g.pick([]string{"contains", "startsWith", "endsWith"}) + " " + g.strLit()
		}
	case 6:
		all := append(append(append([]string{}, g.sc.str...), g.sc.num...), g.sc.ts...)
		return g.pick(all) + " " + g.pick([]string{"==", "!="}) + " nil"
	case 7:
		if len(g.sc.boolean) > 0 {
			return g.pick([]string{"", "not "}) + g.pick(g.sc.boolean)
		}
	case 8:
		if len(g.sc.ts) > 0 {
			return g.pick(g.sc.ts) + " " + g.pick([]string{">", "<"}) + " ago(" + strconv.Quote(g.pick([]string{"1d", "30d", "365d", "52w"})) + ")"
		}
	case 9, 10:
		return fmt.Sprintf("count(events, %s) %s %d", g.pred(), g.cmp(), g.s.intn(4))
	case 11:
		return g.pick([]string{"any", "all", "none", "one"}) + "(events, " + g.pred() + ")"
	case 12:
		var num []string
		for _, p := range g.sc.props {
			if p[1] == "num" {
				num = append(num, p[0])
			}
		}
		if len(num) > 0 {
			k := g.pick(num)
			switch g.s.intn(3) {
			case 0:
				return "sum(events, .properties." + k + ") " + g.cmp() + " " + g.numLit()
			case 1:
				return g.pick([]string{"max", "min", "mean"}) + "(map(events, .properties." + k + ")) " + g.cmp() + " " + g.numLit()
			default:
				return g.pick([]string{"max", "min", "mean"}) + "(map(events, .properties." + k + ")) == nil"
			}
		}
	case 13:
		return fmt.Sprintf("consented(%q, %q)", g.pick([]string{"marketing", "analytics", "transactional"}), g.pick([]string{"email", "sms", "push"}))
	case 14:
		n := 2 + g.s.intn(5)
		return fmt.Sprintf("bucket(%d) == %d", n, g.s.intn(n))
	case 15:
		if len(g.sc.list) > 0 {
			return g.strLit() + " " + g.pick([]string{"in", "not in"}) + " " + g.pick(g.sc.list)
		}
		if len(g.sc.str) > 0 {
			return "lower(" + g.pick(g.sc.str) + ") == " + g.strLit()
		}
	}
	return g.numExpr() + " " + g.cmp() + " " + g.numLit()
}

func (g *exprGen) boolExpr() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.atom()
	}
	switch g.s.intn(8) {
	case 0:
		return "(" + g.boolExpr() + " and " + g.boolExpr() + ")"
	case 1:
		return "(" + g.boolExpr() + " or " + g.boolExpr() + ")"
	case 2:
		return "not (" + g.boolExpr() + ")"
	case 3:
		if g.s.intn(3) == 0 {
			return "(" + g.boolExpr() + " ? " + g.boolExpr() + " : " + g.boolExpr() + ")"
		}
	}
	return g.atom()
}

// ---------------------------------------------------------------------
// The agreement fixture: profiles with many missing values.

var fuzzSchema = genSchema{
	str:     []string{"country", "name", "user_id", "email"},
	num:     []string{"age"},
	flt:     []string{"ltv"},
	boolean: []string{"vip"},
	ts:      []string{"signup_at"},
	list:    []string{"tags"},
	strVals: []string{"TH", "US", "th", "", "Ann", "ก", "สมชาย", "Zoë", "a", "u3", "x@example.com"},
	numVals: []string{"0", "1", "2", "-1", "25", "30", "0.5", "100", "-3.25", "1000", "0.1"},
	props:   [][2]string{{"amount", "num"}, {"plan", "str"}, {"qty", "num"}},
	events:  []string{"purchase", "view", "signup"},
}

type agreeFixture struct {
	st  *engine.Store
	sc  segments.Schema
	all []*segments.Snapshot
}

var (
	fixtureOnce sync.Once
	fixture     *agreeFixture
	fixtureErr  error
)

// agreementFixture builds (once per test binary) a store of 40 profiles
// whose traits are each missing about a third of the time, with events and
// consent, and keeps every profile's snapshot in memory.
func agreementFixture(t testing.TB) *agreeFixture {
	fixtureOnce.Do(func() {
		fixture, fixtureErr = buildFixture(t)
	})
	require.NoError(t, fixtureErr)
	return fixture
}

func buildFixture(t testing.TB) (*agreeFixture, error) {
	ctx := context.Background()
	dir, err := osMkdirTemp()
	if err != nil {
		return nil, err
	}
	st, err := engine.Open(ctx, filepath.Join(dir, "agree.duckdb"), engine.Options{Clock: clock.Fixed(refNow)})
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(7, 11))
	maybe := func(v any) any {
		if r.IntN(3) == 0 {
			return nil
		}
		return v
	}
	var profiles, events, consents []map[string]any
	for i := 1; i <= 40; i++ {
		uid := fmt.Sprintf("u%d", i)
		p := map[string]any{"user_id": uid}
		set := func(k string, v any) {
			if v != nil {
				p[k] = v
			}
		}
		set("country", maybe([]string{"TH", "US", "th", "ก"}[r.IntN(4)]))
		set("name", maybe([]string{"Ann", "สมชาย", "Zoë", "", "a"}[r.IntN(5)]))
		set("email", maybe(fmt.Sprintf("x%d@example.com", i)))
		set("age", maybe(int64(r.IntN(60)-5)))
		set("ltv", maybe([]float64{0.1, 0.2, 0.3, -3.25, 100, 1000.5, 0.5}[r.IntN(7)]))
		set("vip", maybe(r.IntN(2) == 0))
		set("signup_at", maybe(refNow.Add(-time.Duration(r.IntN(800*24))*time.Hour).Format(time.RFC3339)))
		if r.IntN(3) > 0 {
			tags := []any{}
			for k := 0; k < r.IntN(3); k++ {
				tags = append(tags, []string{"a", "TH", "ก"}[r.IntN(3)])
			}
			p["tags"] = tags
		}
		profiles = append(profiles, p)
		for k := 0; k < r.IntN(6); k++ {
			props := map[string]any{}
			if r.IntN(3) > 0 {
				props["amount"] = []any{1, 2.5, 25, 100, "12", nil}[r.IntN(6)]
			}
			if r.IntN(2) == 0 {
				props["plan"] = []string{"pro", "free", "ก"}[r.IntN(3)]
			}
			if r.IntN(4) == 0 {
				props["qty"] = r.IntN(5)
			}
			ts := refNow.Add(-time.Duration(r.IntN(400*24*3600)+1) * time.Second)
			if r.IntN(8) == 0 {
				ts = refNow.Add(-30 * 24 * time.Hour) // exactly at the 30-day edge
			}
			events = append(events, map[string]any{"user_id": uid, "event": []string{"purchase", "view", "signup"}[r.IntN(3)],
				"timestamp": ts.Format(time.RFC3339), "properties": props, "message_id": fmt.Sprintf("m%d-%d", i, k)})
		}
		for _, pc := range [][2]string{{"marketing", "email"}, {"*", "sms"}, {"marketing", "*"}, {"analytics", "push"}} {
			if r.IntN(3) == 0 {
				consents = append(consents, map[string]any{"user_id": uid, "purpose": pc[0], "channel": pc[1],
					"status": []string{"granted", "granted", "withdrawn", "denied"}[r.IntN(4)], "timestamp": "2026-03-01T00:00:00Z"})
			}
		}
	}
	if _, err := st.ImportRows(ctx, engine.ImportProfiles, "agree", profiles); err != nil {
		return nil, err
	}
	if _, err := st.ImportRows(ctx, engine.ImportEvents, "agree", events); err != nil {
		return nil, err
	}
	if _, err := st.ImportRows(ctx, engine.ImportConsents, "agree", consents); err != nil {
		return nil, err
	}
	return loadFixture(ctx, st)
}

// loadFixture reads every profile's full snapshot once.
func loadFixture(ctx context.Context, st *engine.Store) (*agreeFixture, error) {
	sc, err := segments.SchemaFromStore(ctx, st)
	if err != nil {
		return nil, err
	}
	loader, err := segments.Compile(`len(events) >= 0 and consented("marketing", "email")`, sc)
	if err != nil {
		return nil, err
	}
	f := &agreeFixture{st: st, sc: sc}
	err = loader.EachSnapshot(ctx, st, func(s *segments.Snapshot) error {
		f.all = append(f.all, s)
		return nil
	})
	return f, err
}

// agree compiles nothing: it checks that the bulk path and the VM over
// every snapshot select the same profiles.
func (f *agreeFixture) agree(t testing.TB, seg *segments.Segment) {
	ctx := context.Background()
	bulk, err := seg.MemberIDs(ctx, f.st)
	require.NoError(t, err, "%s", seg.Source())
	ev := seg.NewEvaluator(segments.Env{Now: refNow, Policy: f.st.Policy()})
	var vmIDs []int64
	for _, s := range f.all {
		if ev.Eval(s) {
			vmIDs = append(vmIDs, s.ID)
		}
	}
	if bulk == nil {
		bulk = []int64{}
	}
	if vmIDs == nil {
		vmIDs = []int64{}
	}
	slices.Sort(bulk)
	require.Equal(t, vmIDs, bulk, "expression %q (path %s)\nSQL: %s", seg.Source(), seg.Path(), seg.SQL())
}

func TestGeneratedAgreement(t *testing.T) {
	t.Parallel()
	f := agreementFixture(t)
	g := &exprGen{s: randSource{rand.New(rand.NewPCG(1, 2))}, sc: fuzzSchema}
	paths := map[segments.Path]int{}
	for i := 0; i < 400; i++ {
		src := g.boolExpr()
		seg, err := segments.Compile(src, f.sc)
		require.NoError(t, err, "generated %q", src)
		paths[seg.Path()]++
		f.agree(t, seg)
	}
	t.Logf("paths: %v", paths)
	require.Greater(t, paths[segments.PathSQL], 300, "most generated expressions compile to SQL")
}

// FuzzAgreement: (1) compiling arbitrary text never panics and fails only
// with a positioned *segments.Error; what compiles is within the size
// bounds, has no range, passes CheckSyntax, and both paths agree, and the
// journey path (ForJourney, per subject) agrees with them; (2) an
// expression generated from the fuzzer's bytes always compiles and both
// paths agree on profiles with missing values.
func FuzzAgreement(f *testing.F) {
	for _, s := range []string{
		`country == "TH"`, `not (age > 25)`, `age % 0 == 0`, `0.1 + 0.2 == 0.3`, `int(ltv) == 0`,
		`count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`, `$env.age`, `country ==`,
		`name matches "(?i)^s"`, `"ก" in tags`, `(age ?? 1) / 0 > 1`, `sum(events, .properties.amount) > 3`,
		`any(events, .properties.plan != "pro")`, `max(map(events, .properties.amount)) == nil`,
		`consented("marketing", "email") or bucket(3) == 1`, "country == \"TH\" and\n agee > 1", `{`, `let x = 1; x > 0`,
		`len(1..1000000) > 0`, strings.Repeat("email + ", 600) + `email == "x"`, `payload.a.b == 1`, `entered_at < now()`,
		`not (age > 30) and country in ["TH"]`, `ago("1w2d") < now()`,
	} {
		f.Add(s, []byte{})
	}
	for i := 0; i < 16; i++ {
		b := make([]byte, 24)
		for j := range b {
			b[j] = byte(i*31 + j*7)
		}
		f.Add("", b)
	}
	f.Fuzz(func(t *testing.T, src string, prog []byte) {
		fx := agreementFixture(t)
		if src != "" {
			seg, err := segments.Compile(src, fx.sc)
			if err != nil {
				requirePositioned(t, src, err)
			} else {
				requireBounded(t, src)
				require.NoError(t, segments.CheckSyntax(src), "%q compiles but fails CheckSyntax", src)
				fx.agree(t, seg)
			}
			jseg, err := segments.Compile(src, fx.sc, segments.ForJourney(), segments.AllowUnknownTraits())
			if err != nil {
				requirePositioned(t, src, err)
			} else {
				requireBounded(t, src)
				fx.agreeJourney(t, jseg)
			}
			if err := segments.CheckSyntax(src); err != nil {
				requirePositioned(t, src, err)
			}
		}
		if len(prog) > 0 {
			g := &exprGen{s: &byteSource{b: prog}, sc: fuzzSchema}
			gen := g.boolExpr()
			seg, err := segments.Compile(gen, fx.sc)
			require.NoError(t, err, "generated %q", gen)
			fx.agree(t, seg)
			jseg, err := segments.Compile(gen, fx.sc, segments.ForJourney())
			require.NoError(t, err, "generated %q", gen)
			fx.agreeJourney(t, jseg)
		}
	})
}

// fixtureDirs are removed by TestMain.
var fixtureDirs []string

func osMkdirTemp() (string, error) {
	// The fixture outlives any one test (it is shared through sync.Once),
	// so it lives in its own temporary directory.
	d, err := os.MkdirTemp("", "segments-agree-")
	if err == nil {
		fixtureDirs = append(fixtureDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.st.Close()
	}
	if sampleFix != nil {
		sampleFix.st.Close()
	}
	for _, d := range fixtureDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
