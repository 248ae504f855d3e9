package segments_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

// refNow is the reference instant of the sample and the golden files.
var refNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// goldenFile is one parsed testdata/segments/*.txt file.
type goldenFile struct {
	name     string
	now      time.Time
	profiles []map[string]any
	events   []map[string]any
	consents []map[string]any
	suppress [][2]string // kind, address
	privacy  [][2]string // restrict|object, user_id
	saves    [][2]string // name, expression
	cases    []goldenCase
}

type goldenCase struct {
	name     string
	line     int
	expr     string
	want     []string // user_ids, sorted
	path     string
	audience [2]string // purpose, channel
	err      string
}

// parseGolden reads the format documented in testdata/segments/README.md.
func parseGolden(path string) (*goldenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g := &goldenFile{name: filepath.Base(path), now: refNow}
	section := ""
	var cur *goldenCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	var lastKey string
	for sc.Scan() {
		ln++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if strings.HasPrefix(line, "-- ") {
			section = strings.TrimSpace(line[3:])
			if strings.HasPrefix(section, "now ") {
				t, err := time.Parse(time.RFC3339, strings.TrimSpace(section[4:]))
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %v", path, ln, err)
				}
				g.now = t
				section = ""
			}
			cur = nil
			continue
		}
		if strings.HasPrefix(line, "== ") {
			g.cases = append(g.cases, goldenCase{name: strings.TrimSpace(line[3:]), line: ln})
			cur = &g.cases[len(g.cases)-1]
			section = "case"
			continue
		}
		switch section {
		case "profiles", "events", "consents":
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, ln, err)
			}
			switch section {
			case "profiles":
				g.profiles = append(g.profiles, m)
			case "events":
				g.events = append(g.events, m)
			default:
				g.consents = append(g.consents, m)
			}
		case "suppress", "privacy":
			f := strings.Fields(line)
			if len(f) != 2 {
				return nil, fmt.Errorf("%s:%d: want two fields", path, ln)
			}
			if section == "suppress" {
				g.suppress = append(g.suppress, [2]string{f[0], f[1]})
			} else {
				g.privacy = append(g.privacy, [2]string{f[0], f[1]})
			}
		case "save":
			name, expr, ok := strings.Cut(trim, " ")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want NAME EXPR", path, ln)
			}
			g.saves = append(g.saves, [2]string{name, strings.TrimSpace(expr)})
		case "case":
			if strings.HasPrefix(line, "  ") && lastKey == "expr" {
				cur.expr += "\n" + strings.TrimPrefix(line, "  ")
				continue
			}
			key, val, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want key: value", path, ln)
			}
			val = strings.TrimSpace(val)
			lastKey = key
			switch key {
			case "expr":
				cur.expr = val
			case "want":
				cur.want = []string{}
				if val != "-" {
					cur.want = strings.Fields(val)
					sort.Strings(cur.want)
				}
			case "path":
				cur.path = val
			case "audience":
				f := strings.Fields(val)
				if len(f) != 2 {
					return nil, fmt.Errorf("%s:%d: audience: want PURPOSE CHANNEL", path, ln)
				}
				cur.audience = [2]string{f[0], f[1]}
			case "error":
				cur.err = val
			default:
				return nil, fmt.Errorf("%s:%d: unknown key %q", path, ln, key)
			}
		default:
			return nil, fmt.Errorf("%s:%d: line outside a section", path, ln)
		}
	}
	for _, c := range g.cases {
		if c.expr == "" || (c.want == nil && c.err == "") {
			return nil, fmt.Errorf("%s:%d: case %q needs expr and want or error", path, c.line, c.name)
		}
	}
	return g, sc.Err()
}

// load opens a fresh store in a temporary directory and imports the
// fixture.
func (g *goldenFile) load(t testing.TB) *engine.Store {
	ctx := context.Background()
	st, err := engine.Open(ctx, filepath.Join(t.TempDir(), "tact.duckdb"), engine.Options{Clock: clock.Fixed(g.now)})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	if len(g.profiles) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportProfiles, g.name+":profiles", g.profiles)
		require.NoError(t, err)
	}
	if len(g.events) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportEvents, g.name+":events", g.events)
		require.NoError(t, err)
	}
	if len(g.consents) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportConsents, g.name+":consents", g.consents)
		require.NoError(t, err)
	}
	for _, s := range g.suppress {
		require.NoError(t, st.Suppress(ctx, s[0], s[1], engine.SuppressManual, "test"))
	}
	for _, p := range g.privacy {
		id, err := st.ResolveUser(ctx, p[1])
		require.NoError(t, err)
		col := map[string]string{"restrict": "restricted", "object": "objected"}[p[0]]
		require.NotEmpty(t, col, "privacy action %q", p[0])
		_, err = st.DB().ExecContext(ctx, "UPDATE profiles SET "+col+" = TRUE WHERE id = ?", id)
		require.NoError(t, err)
	}
	for _, s := range g.saves {
		_, err := segments.Save(ctx, st, s[0], s[1])
		require.NoError(t, err, "save %s", s[0])
	}
	return st
}

// userIDs maps profile ids to sorted user_ids (or "#id" without one).
func userIDs(t testing.TB, st *engine.Store, ids []int64) []string {
	out := []string{}
	for _, id := range ids {
		var uid *string
		require.NoError(t, st.DB().QueryRow(`SELECT user_id FROM profiles WHERE id = ?`, id).Scan(&uid))
		if uid == nil {
			out = append(out, fmt.Sprintf("#%d", id))
		} else {
			out = append(out, *uid)
		}
	}
	sort.Strings(out)
	return out
}

func allIDs(t testing.TB, st *engine.Store) []int64 {
	rows, err := st.DB().Query(`SELECT id FROM profiles ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	return ids
}

// realtimeIDs evaluates seg for each profile through the per-person path.
func realtimeIDs(t testing.TB, st *engine.Store, seg *segments.Segment, all []int64) []int64 {
	var out []int64
	for _, id := range all {
		ok, err := seg.Match(context.Background(), st, id)
		require.NoError(t, err)
		if ok {
			out = append(out, id)
		}
	}
	return out
}
