// Package segtest holds test support shared by the tests of packages
// segments and journeys: the golden files of testdata/segments (format in
// its README) and the committed sample in testdata/sample.
package segtest

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

// RefNow is the reference instant of the sample and the golden files.
func RefNow() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }

// File is one parsed testdata/segments/*.txt file.
type File struct {
	Name     string
	Now      time.Time
	Profiles []map[string]any
	Events   []map[string]any
	Consents []map[string]any
	Suppress [][2]string // kind, address
	Privacy  [][2]string // restrict|object, user_id
	Saves    [][2]string // name, expression
	Cases    []Case
}

// Case is one case of a golden file.
type Case struct {
	Name     string
	Line     int
	Expr     string
	Want     []string // user_ids, sorted
	Path     string
	Audience [2]string // purpose, channel
	Err      string
}

// Parse reads the format documented in testdata/segments/README.md.
func Parse(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g := &File{Name: filepath.Base(path), Now: RefNow()}
	section := ""
	var cur *Case
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
					return nil, fmt.Errorf("%s:%d: %w", path, ln, err)
				}
				g.Now = t
				section = ""
			}
			cur = nil
			continue
		}
		if strings.HasPrefix(line, "== ") {
			g.Cases = append(g.Cases, Case{Name: strings.TrimSpace(line[3:]), Line: ln})
			cur = &g.Cases[len(g.Cases)-1]
			section = "case"
			continue
		}
		switch section {
		case "profiles", "events", "consents":
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, ln, err)
			}
			switch section {
			case "profiles":
				g.Profiles = append(g.Profiles, m)
			case "events":
				g.Events = append(g.Events, m)
			default:
				g.Consents = append(g.Consents, m)
			}
		case "suppress", "privacy":
			f := strings.Fields(line)
			if len(f) != 2 {
				return nil, fmt.Errorf("%s:%d: want two fields", path, ln)
			}
			if section == "suppress" {
				g.Suppress = append(g.Suppress, [2]string{f[0], f[1]})
			} else {
				g.Privacy = append(g.Privacy, [2]string{f[0], f[1]})
			}
		case "save":
			name, expr, ok := strings.Cut(trim, " ")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want NAME EXPR", path, ln)
			}
			g.Saves = append(g.Saves, [2]string{name, strings.TrimSpace(expr)})
		case "case":
			if strings.HasPrefix(line, "  ") && lastKey == "expr" {
				cur.Expr += "\n" + strings.TrimPrefix(line, "  ")
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
				cur.Expr = val
			case "want":
				cur.Want = []string{}
				if val != "-" {
					cur.Want = strings.Fields(val)
					sort.Strings(cur.Want)
				}
			case "path":
				cur.Path = val
			case "audience":
				f := strings.Fields(val)
				if len(f) != 2 {
					return nil, fmt.Errorf("%s:%d: audience: want PURPOSE CHANNEL", path, ln)
				}
				cur.Audience = [2]string{f[0], f[1]}
			case "error":
				cur.Err = val
			default:
				return nil, fmt.Errorf("%s:%d: unknown key %q", path, ln, key)
			}
		default:
			return nil, fmt.Errorf("%s:%d: line outside a section", path, ln)
		}
	}
	for _, c := range g.Cases {
		if c.Expr == "" || (c.Want == nil && c.Err == "") {
			return nil, fmt.Errorf("%s:%d: case %q needs expr and want or error", path, c.Line, c.Name)
		}
	}
	return g, sc.Err()
}

// Load opens a fresh store in a temporary directory and imports the
// fixture.
func (g *File) Load(t testing.TB) *engine.Store {
	ctx := context.Background()
	st, err := engine.Open(ctx, filepath.Join(t.TempDir(), "tact.duckdb"), engine.Options{Clock: clock.Fixed(g.Now)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	if len(g.Profiles) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportProfiles, g.Name+":profiles", g.Profiles)
		require.NoError(t, err)
	}
	if len(g.Events) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportEvents, g.Name+":events", g.Events)
		require.NoError(t, err)
	}
	if len(g.Consents) > 0 {
		_, err = st.ImportRows(ctx, engine.ImportConsents, g.Name+":consents", g.Consents)
		require.NoError(t, err)
	}
	for _, s := range g.Suppress {
		require.NoError(t, st.Suppress(ctx, s[0], s[1], engine.SuppressManual, "test"))
	}
	for _, p := range g.Privacy {
		id, err := st.ResolveUser(ctx, p[1])
		require.NoError(t, err)
		col := map[string]string{"restrict": "restricted", "object": "objected"}[p[0]]
		require.NotEmpty(t, col, "privacy action %q", p[0])
		_, err = st.DB().ExecContext(ctx, "UPDATE profiles SET "+col+" = TRUE WHERE id = ?", id)
		require.NoError(t, err)
	}
	for _, s := range g.Saves {
		_, err := segments.Save(ctx, st, s[0], s[1])
		require.NoError(t, err, "save %s", s[0])
	}
	return st
}

// UserIDs maps profile ids to sorted user_ids (or "#id" without one).
func UserIDs(t testing.TB, st *engine.Store, ids []int64) []string {
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

// AllIDs lists every profile id in ascending order.
func AllIDs(t testing.TB, st *engine.Store) []int64 {
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

// SampleFile is one file of the committed sample.
type SampleFile struct {
	Kind engine.ImportKind
	Name string
}

// SampleFiles is the committed sample (testdata/sample) in manifest
// (import) order.
func SampleFiles() []SampleFile {
	return []SampleFile{
		{engine.ImportProfiles, "crm_profiles.csv"},
		{engine.ImportProfiles, "web_identify.jsonl"},
		{engine.ImportEvents, "web_events.jsonl"},
		{engine.ImportEvents, "store_purchases.csv"},
		{engine.ImportEvents, "email_engagement.csv"},
		{engine.ImportConsents, "consents.csv"},
	}
}

// OpenSample imports the committed sample from dir (testdata/sample) into
// a new store at path whose clock is fixed at RefNow.
func OpenSample(ctx context.Context, dir, path string) (*engine.Store, error) {
	st, err := engine.Open(ctx, path, engine.Options{Clock: clock.Fixed(RefNow())})
	if err != nil {
		return nil, err
	}
	for _, f := range SampleFiles() {
		if _, err := st.Import(ctx, f.Kind, filepath.Join(dir, f.Name)); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return st, nil
}

// RunFiles parses every golden file dir/*.txt and runs fn on each in a
// parallel subtest named after the file. It returns how many cases the
// files hold.
func RunFiles(t *testing.T, dir string, fn func(t *testing.T, g *File)) int {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	total := 0
	for _, f := range files {
		g, err := Parse(f)
		require.NoError(t, err)
		total += len(g.Cases)
		t.Run(g.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, g)
		})
	}
	return total
}
