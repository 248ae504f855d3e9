package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tact runs the command line in-process with a fixed environment.
func tact(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

// seed imports a profiles CSV and a consents CSV into db, as a test's
// starting data.
func seed(t *testing.T, env map[string]string, db, dir, profiles, consents string) {
	t.Helper()
	for _, f := range [][2]string{{"profiles", profiles}, {"consents", consents}} {
		_, stderr, code := tact(t, env, "--db", db, "import", f[0], write(t, dir, f[0]+".csv", f[1]))
		require.Equal(t, 0, code, stderr)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `tact: unknown command "frobnicate"; run tact help`},
		{[]string{"import", "people", "x.csv"}, `tact: import: unknown kind "people" (want profiles, events or consents)`},
		{[]string{"import", "profiles"}, "tact: usage: tact import profiles|events|consents FILE..."},
		{[]string{"--now", "yesterday", "profile", "show", "--user", "u1"}, `tact: --now: "yesterday" is not an RFC 3339 time`},
		{[]string{"consent", "show"}, "tact: consent show: --user is required"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "t.duckdb")}
			_, stderr, code := tact(t, env, tc.args...)
			require.Equal(t, 2, code)
			require.Equal(t, tc.want+"\n", stderr)
		})
	}
}

func TestImportProfileAndConsentFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	env := map[string]string{"TACT_NOW": "2026-11-01T00:00:00Z"}
	crm := write(t, dir, "crm.csv", "user_id,email,phone,country,age\nu1,Ann@Example.com,081-234-5678,TH,31\n")
	events := write(t, dir, "web.jsonl", `{"email":"ann@example.com","event":"purchase","timestamp":"2026-10-30T10:00:00Z","properties":{"amount":12.5},"message_id":"m1"}`+"\n")
	consents := write(t, dir, "c.csv", "email,purpose,channel,status,timestamp,version\nann@example.com,marketing,email,granted,2026-07-01T00:00:00Z,2026-06\n")

	out, stderr, code := tact(t, env, "--db", db, "import", "profiles", crm)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "crm.csv: 1 rows, 1 profiles created")
	require.Contains(t, out, "new trait age BIGINT")
	_, stderr, code = tact(t, env, "import", "events", events, "--db", db)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = tact(t, env, "--db="+db, "import", "consents", consents)
	require.Equal(t, 0, code, stderr)

	out, stderr, code = tact(t, env, "--db", db, "profile", "show", "--user", "+66812345678")
	require.Equal(t, 0, code, stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Equal(t, "u1", doc["user_id"])
	require.Equal(t, "ann@example.com", doc["email"])
	require.Equal(t, map[string]any{"granted": true, "reason": "granted"}, doc["consent"].(map[string]any)["marketing/email"])
	require.Equal(t, map[string]any{"granted": false, "reason": "no_consent"}, doc["consent"].(map[string]any)["marketing/sms"])
	require.Len(t, doc["latest_events"], 1)
	require.Len(t, doc["identities"], 3)

	out, stderr, code = tact(t, env, "--db", db, "consent", "set", "--user", "u1", "--purpose", "marketing", "--channel", "email", "--status", "withdrawn")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "recorded; marketing on email is now not granted (withdrawn)\n", out)
	out, _, code = tact(t, env, "--db", db, "consent", "show", "--user", "ann@example.com")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"status": "withdrawn"`)
	require.Contains(t, out, `"source": "cli"`)

	out, _, code = tact(t, env, "--db", db, "audit", "log")
	require.Equal(t, 0, code)
	require.Equal(t, 2, strings.Count(out, "admin.read"), "profile show and consent show are audited as admin reads")
	require.NotContains(t, out, "ann@example.com", "the audit log holds no addresses")

	_, stderr, code = tact(t, env, "--db", db, "consent", "set", "--user", "u1", "--purpose", "lottery", "--channel", "email", "--status", "granted")
	require.Equal(t, 1, code)
	require.Equal(t, "tact: consents[0].purpose: unknown purpose \"lottery\"\n", stderr)
	_, stderr, code = tact(t, env, "--db", db, "profile", "show", "--user", "nobody@example.com")
	require.Equal(t, 1, code)
	require.Equal(t, "tact: no profile matches the given identifier\n", stderr)
}

func TestBadFileIsOneLineErrorAndWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	good := write(t, dir, "good.csv", "user_id,age\nu1,30\n")
	bad := write(t, dir, "bad.csv", "user_id,age\nu2,31\nu3,\"thirty\ntwo\"\n")
	_, stderr, code := tact(t, nil, "--db", db, "import", "profiles", good)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = tact(t, nil, "--db", db, "import", "profiles", bad)
	require.Equal(t, 1, code)
	require.Equal(t, "tact: "+bad+":3:4: field \"age\": value \"thirty\\ntwo\" does not fit trait \"age\", which holds an integer\n", stderr)
	_, _, code = tact(t, nil, "--db", db, "profile", "show", "--user", "u2")
	require.Equal(t, 1, code, "the good row of the bad file was not written either")
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := write(t, dir, "tact.yaml", "purposes:\n  - name: research\n    versoins: []\n")
	_, stderr, code := tact(t, nil, "--config", cfg, "--db", filepath.Join(dir, "t.duckdb"), "profile", "show", "--user", "u1")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "line 3: field versoins not found")
	_, stderr, code = tact(t, nil, "--config", filepath.Join(dir, "missing.yaml"), "profile", "show", "--user", "u1")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "missing.yaml: no such file")
}

// TestCommandHelpListsFlags: `tact COMMAND -h` prints the command's flags
// and exits 0, as docs/cli.md says.
func TestCommandHelpListsFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"import", "-h"}, {"segment", "count", "--help"}, {"bench", "-h"}} {
		out, stderr, code := tact(t, nil, args...)
		require.Equal(t, 0, code, stderr)
		require.Empty(t, stderr)
		require.Contains(t, out, "flags of tact "+args[0])
		require.Contains(t, out, "\n  -")
	}
}
