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
