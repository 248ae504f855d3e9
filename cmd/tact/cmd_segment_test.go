package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

const issueExpr = `country == "TH" and age >= 25 and count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`

// importSample imports testdata/sample through the CLI in manifest order.
func importSample(t *testing.T) map[string]string {
	t.Helper()
	if _, err := os.Stat("../../testdata/sample/crm_profiles.csv"); err != nil {
		t.Skip("testdata/sample is not there")
	}
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb"), "TACT_NOW": "2026-11-01T00:00:00Z"}
	s := func(n string) string { return filepath.Join("../../testdata/sample", n) }
	for _, step := range [][]string{
		{"profiles", s("crm_profiles.csv"), s("web_identify.jsonl")},
		{"events", s("web_events.jsonl"), s("store_purchases.csv"), s("email_engagement.csv")},
		{"consents", s("consents.csv")},
	} {
		_, stderr, code := tact(t, env, append([]string{"import"}, step...)...)
		require.Equal(t, 0, code, stderr)
	}
	return env
}

func TestSegmentCommandsOnSample(t *testing.T) {
	t.Parallel()
	env := importSample(t)

	out, stderr, code := tact(t, env, "segment", "check", issueExpr)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "path: sql")

	out, stderr, code = tact(t, env, "segment", "count", issueExpr, "--purpose", "marketing", "--channel", "email", "--json")
	require.Equal(t, 0, code, stderr)
	var c struct {
		Count   int64            `json:"count"`
		Segment int64            `json:"segment"`
		Removed map[string]int64 `json:"removed"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &c))
	var removed int64
	for _, k := range []string{"no_consent", "unreachable", "suppressed", "restricted", "objected"} {
		require.Contains(t, c.Removed, k)
		removed += c.Removed[k]
	}
	require.Equal(t, c.Segment, c.Count+removed, "the breakdown adds up")
	require.Positive(t, c.Count)

	// The same count on the VM path, person by person.
	ctx := context.Background()
	st, err := engine.Open(ctx, env["TACT_DB"], engine.Options{Clock: clock.Fixed(refTime())})
	require.NoError(t, err)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	seg, err := segments.Compile(issueExpr, sc)
	require.NoError(t, err)
	vmIDs, err := seg.VMMemberIDs(ctx, st)
	require.NoError(t, err)
	require.Len(t, vmIDs, int(c.Segment))
	aud, err := segments.NewAudience(st, seg, "marketing", "email")
	require.NoError(t, err)
	var n int64
	for _, id := range vmIDs {
		d, err := aud.Check(ctx, st, id)
		require.NoError(t, err)
		if d.Member {
			n++
		}
	}
	require.NoError(t, st.Close())
	require.Equal(t, c.Count, n, "VM path count")

	// Members in every format.
	dir := t.TempDir()
	for _, f := range []string{"csv", "jsonl", "parquet", "arrow"} {
		p := filepath.Join(dir, "m."+f)
		_, stderr, code := tact(t, env, "segment", "members", issueExpr, "--purpose", "marketing", "--channel", "email", "--format", f, "--out", p)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stderr, "members written")
		info, err := os.Stat(p)
		require.NoError(t, err)
		require.Positive(t, info.Size())
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "a member list holds personal data")
	}
	out, _, code = tact(t, env, "segment", "members", issueExpr, "--purpose", "marketing", "--channel", "email", "--format", "jsonl")
	require.Equal(t, 0, code)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), int(c.Count))

	// Saved segments.
	out, stderr, code = tact(t, env, "segment", "save", "th", `country == "TH"`)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, `"computation": 1`)
	out, stderr, code = tact(t, env, "segment", "list")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "th\t")
	out, stderr, code = tact(t, env, "segment", "count", `in_segment("th") and age >= 25`)
	require.Equal(t, 0, code, stderr)
	require.NotEqual(t, "0\n", out)
}

func refTime() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }

func TestSegmentErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb")}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"segment", "check", `agee > 1`}, 1, "tact: expression 1:1: unknown name agee"},
		{[]string{"segment", "count", `age > "x"`}, 1, "tact: expression 1:1: unknown name age"},
		{[]string{"segment", "count", "country ==\n"}, 1, "tact: expression 1:"},
		{[]string{"segment", "count", `true`, "--purpose", "marketing"}, 2, "give both a purpose and a channel"},
		{[]string{"segment", "count", `true`, "--purpose", "sales", "--channel", "email"}, 2, `unknown purpose "sales"`},
		{[]string{"segment", "members", `true`, "--format", "xml"}, 2, "--format"},
		{[]string{"segment"}, 2, "usage"},
		{[]string{"segment", "frob"}, 2, "unknown subcommand"},
		{[]string{"segment", "check"}, 2, "one expression"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := tact(t, env, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line")
		})
	}
}

func TestBenchCommandTiny(t *testing.T) {
	t.Parallel()
	out, stderr, code := tact(t, map[string]string{}, "bench", "--legs", "segment", "--profiles", "2000", "--repeat", "1", "--quiet")
	require.Equal(t, 0, code, stderr)
	var r struct {
		Legs []struct {
			Detail map[string]any `json:"detail"`
		} `json:"legs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Legs, 1)
	require.Equal(t, true, r.Legs[0].Detail["paths_agree"])
	require.Contains(t, r.Legs[0].Detail, "ratios")
}

// TestSegmentMembersTraits: --traits adds trait columns after the member
// columns (typed as stored), --all-traits every trait; an unknown trait is
// a usage error naming it, with nothing written; the audit entry names the
// traits exported and the contact columns among them.
func TestSegmentMembersTraits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb"), "TACT_NOW": "2026-11-01T00:00:00Z"}
	_, stderr, code := tact(t, env, "import", "profiles", write(t, dir, "p.csv",
		"user_id,email,plan,age,vip\nu1,u1@example.com,pro,41,true\nu2,,free,,false\n"))
	require.Equal(t, 0, code, stderr)
	const expr = `plan != ""`

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"csv with contact fields", []string{"--all-fields", "--traits", "plan,age"},
			"profile_id,user_id,email,phone,timezone,plan,age\n1,u1,u1@example.com,,,pro,41\n2,u2,,,,free,\n"},
		{"jsonl ids with a named email", []string{"--format", "jsonl", "--traits", "email,vip"},
			`{"profile_id":1,"email":"u1@example.com","vip":true}` + "\n" + `{"profile_id":2,"vip":false}` + "\n"},
		{"all traits", []string{"--all-traits"},
			"profile_id,plan,age,vip\n1,pro,41,true\n2,free,,false\n"},
	}
	for _, tc := range cases {
		out, stderr, code := tact(t, env, append([]string{"segment", "members", expr}, tc.args...)...)
		require.Equal(t, 0, code, "%s: %s", tc.name, stderr)
		require.Equal(t, tc.want, out, tc.name)
	}

	p := filepath.Join(dir, "m.parquet")
	_, stderr, code = tact(t, env, "segment", "members", expr, "--all-traits", "--format", "parquet", "--out", p)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "PAR1"))

	// An unknown trait: a one-line usage error naming it; no file.
	bad := filepath.Join(dir, "bad.csv")
	_, stderr, code = tact(t, env, "segment", "members", expr, "--traits", "plan,plann", "--out", bad)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, `unknown trait "plann" (known: user_id, email, phone, timezone, plan, age, vip)`)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "one line")
	require.NoFileExists(t, bad)

	st, err := engine.Open(context.Background(), env["TACT_DB"], engine.Options{Clock: clock.Fixed(refTime())})
	require.NoError(t, err)
	defer st.Close()
	entries, err := st.AuditLog(context.Background(), 0, 0)
	require.NoError(t, err)
	var exports []map[string]any
	for _, e := range entries {
		if e.Action != engine.AuditAdminRead {
			continue
		}
		var d map[string]any
		require.NoError(t, json.Unmarshal(e.Details, &d))
		exports = append(exports, d)
	}
	require.Len(t, exports, 4, "every export is audited; the refused one is not an export")
	require.Equal(t, []any{"plan", "age"}, exports[0]["traits"])
	require.NotContains(t, exports[0], "contact_traits")
	require.Equal(t, "profile_id", exports[1]["fields"])
	require.Equal(t, []any{"email", "vip"}, exports[1]["traits"])
	require.Equal(t, []any{"email"}, exports[1]["contact_traits"], "a contact column in a list of ids is named as such")
	require.Equal(t, []any{"plan", "age", "vip"}, exports[2]["traits"])
	require.Equal(t, []any{"plan", "age", "vip"}, exports[3]["traits"])
}
