package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// sampleDB generates the sample data, imports it into a file database and
// returns the environment plus the first CRM row with a phone.
func sampleDB(t *testing.T) (env map[string]string, row map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env = map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb"), "TACT_NOW": "2026-11-01T00:00:00Z"}
	data := filepath.Join(dir, "data")
	_, stderr, code := tact(t, env, "gen", "--out", data, "--profiles", "60", "--seed", "7")
	require.Equal(t, 0, code, stderr)
	for _, args := range [][]string{
		{"profiles", "crm_profiles.csv", "web_identify.jsonl"},
		{"events", "web_events.jsonl", "store_purchases.csv", "email_engagement.csv"},
		{"consents", "consents.csv"},
	} {
		cmd := []string{"import", args[0]}
		for _, f := range args[1:] {
			cmd = append(cmd, filepath.Join(data, f))
		}
		_, stderr, code := tact(t, env, cmd...)
		require.Equal(t, 0, code, stderr)
	}
	f, err := os.Open(filepath.Join(data, "crm_profiles.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		if m["phone"] != "" && m["email"] != "" && m["user_id"] != "" {
			return env, m
		}
	}
	t.Fatal("no sample person with user_id, email and phone")
	return nil, nil
}

// dbState opens the database after a command and reports row counts of the
// tables privacy commands touch.
func dbState(t *testing.T, env map[string]string) map[string]int {
	t.Helper()
	s, err := engine.Open(context.Background(), env["TACT_DB"], engine.Options{})
	require.NoError(t, err)
	defer s.Close()
	out := map[string]int{}
	for _, q := range []string{"profiles", "identities", "events", "consent_ledger", "privacy_requests", "audit_log", "suppressions",
		"profiles WHERE restricted", "profiles WHERE objected"} {
		var n int
		require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM `+q).Scan(&n))
		out[q] = n
	}
	return out
}

func TestPrivacyCommandsOnSampleData(t *testing.T) {
	t.Parallel()
	env, who := sampleDB(t)
	email, uid := who["email"], who["user_id"]

	out, stderr, code := tact(t, env, "privacy", "export", "--user", strings.ToUpper(email))
	require.Equal(t, 0, code, stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Equal(t, engine.ExportSchema, doc["schema"])
	require.Equal(t, uid, doc["profile"].(map[string]any)["user_id"])
	for _, k := range []string{"identities", "events", "segment_memberships", "journey_history", "messages", "consent_ledger", "merges", "requests"} {
		require.IsType(t, []any{}, doc[k], k)
	}
	require.NotEmpty(t, doc["consent_ledger"])

	exportFile := filepath.Join(t.TempDir(), "export.json")
	out, stderr, code = tact(t, env, "privacy", "export", "--user", uid, "--out", exportFile)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "exported to")
	st, err := os.Stat(exportFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	out, stderr, code = tact(t, env, "privacy", "rectify", "--user", uid, "--set", "age=33", "--set", "plan=free")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "rectified age, plan")
	before := dbState(t, env)
	_, stderr, code = tact(t, env, "privacy", "rectify", "--user", uid, "--set", "age=old")
	require.Equal(t, 1, code)
	require.Equal(t, "tact: set.age: trait \"age\" holds an integer; the given value is not one\n", stderr)
	require.Equal(t, before, dbState(t, env))

	for _, c := range []struct{ sub, outcome, flag string }{
		{"restrict", "restricted set to true", "profiles WHERE restricted"},
		{"unrestrict", "restricted set to false", ""},
		{"object", "objected set to true", "profiles WHERE objected"},
	} {
		before := dbState(t, env)
		out, stderr, code = tact(t, env, "privacy", c.sub, "--user", email)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, c.outcome)
		after := dbState(t, env)
		require.Equal(t, before["privacy_requests"]+1, after["privacy_requests"])
		require.Equal(t, before["audit_log"]+1, after["audit_log"])
		require.Equal(t, before["events"], after["events"], "data kept")
		if c.flag != "" {
			require.Equal(t, before[c.flag]+1, after[c.flag])
		}
	}

	// A request received long ago is listed as overdue, then fulfilled.
	out, stderr, code = tact(t, env, "privacy", "request", "erase", "--user", uid, "--received", "2026-09-01T00:00:00Z")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "due 2026-10-01T00:00:00Z")
	out, stderr, code = tact(t, env, "privacy", "requests", "--overdue")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "OVERDUE")
	var reqs []engine.Request
	out, _, _ = tact(t, env, "privacy", "requests", "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &reqs))
	require.Len(t, reqs, 1)

	before = dbState(t, env)
	out, stderr, code = tact(t, env, "privacy", "erase", "--user", email, "--request", fmt.Sprint(reqs[0].ID))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "file rewritten: true")
	after := dbState(t, env)
	require.Equal(t, before["profiles"]-1, after["profiles"])
	require.Less(t, after["identities"], before["identities"])
	require.Less(t, after["consent_ledger"], before["consent_ledger"])
	require.Equal(t, before["privacy_requests"], after["privacy_requests"], "the open request was fulfilled, not a new one added")
	out, _, _ = tact(t, env, "privacy", "requests")
	require.Equal(t, "no requests\n", out)
	_, stderr, code = tact(t, env, "privacy", "export", "--user", uid)
	require.Equal(t, 1, code)
	require.Equal(t, "tact: no profile matches the given identifier\n", stderr)

	out, stderr, code = tact(t, env, "audit", "verify")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "audit log verified")
	out, stderr, code = tact(t, env, "privacy", "purge", "--event", "*=180d", "--trait", "plan=1d")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "events_deleted")

	// Tamper with an entry: verify fails and names it.
	s, err := engine.Open(context.Background(), env["TACT_DB"], engine.Options{})
	require.NoError(t, err)
	_, err = s.DB().Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 4`)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, stderr, code = tact(t, env, "audit", "verify")
	require.Equal(t, 1, code)
	require.Equal(t, "tact: audit verify failed: audit log entry 4: content does not match its hash: changed or moved\n", stderr)
}

func TestPrivacyUnknownPersonAndUsage(t *testing.T) {
	t.Parallel()
	env := withProfiles(t, "user_id,email,age\nu1,ann@example.com,31\n")
	before := dbState(t, env)
	for _, args := range [][]string{
		{"privacy", "export", "--user", "bob@example.com"},
		{"privacy", "erase", "--user", "bob@example.com"},
		{"privacy", "restrict", "--user", "u2"},
		{"privacy", "unrestrict", "--user", "u2"},
		{"privacy", "object", "--user", "+66812345678"},
		{"privacy", "unobject", "--user", "u2"},
		{"privacy", "rectify", "--user", "u2", "--set", "age=3"},
		{"privacy", "request", "erase", "--user", "u2"},
	} {
		out, stderr, code := tact(t, env, args...)
		require.Equal(t, 1, code, args)
		require.Empty(t, out)
		require.Equal(t, "tact: no profile matches the given identifier\n", stderr, args)
	}
	require.Equal(t, before, dbState(t, env), "nothing changed")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"privacy"}, "tact: usage: tact privacy export|"},
		{[]string{"privacy", "export"}, "tact: privacy export: --user is required"},
		{[]string{"privacy", "rectify", "--user", "u1"}, "tact: privacy rectify: give at least one --set TRAIT=VALUE"},
		{[]string{"privacy", "rectify", "--user", "u1", "--set", "age"}, "want NAME=VALUE"},
		{[]string{"privacy", "shred", "--user", "u1"}, `tact: privacy: unknown subcommand "shred"`},
		{[]string{"privacy", "request", "--user", "u1"}, "tact: usage: tact privacy request KIND"},
		{[]string{"privacy", "purge"}, "tact: privacy purge: no retention periods"},
		{[]string{"privacy", "purge", "--event", "x=soon"}, "--event x"},
		{[]string{"privacy", "request", "erase", "--user", "u1", "--received", "last week"}, "--received"},
		{[]string{"audit"}, "tact: usage: tact audit verify"},
		{[]string{"audit", "fix"}, `tact: audit: unknown subcommand "fix"`},
	} {
		_, stderr, code := tact(t, env, c.args...)
		require.Equal(t, 2, code, c.args)
		require.True(t, strings.HasPrefix(stderr, "tact: "), stderr)
		require.Contains(t, stderr, c.want)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line")
	}
	require.Equal(t, before, dbState(t, env))
	out, stderr, code := tact(t, env, "audit", "verify")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "audit log verified: empty\n", out)
}

// TestNoPersonalDataInCLILogs runs import and privacy commands at debug
// level and checks stderr (where logs go) for the identifiers used.
func TestNoPersonalDataInCLILogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const (
		email = "cli.log.subject.k4m8q2@distinctive-cli-example.test"
		phone = "+447700900555"
		nick  = "Nickname-CLI-Secret-9921"
		uid   = "uid-cli-secret-5521"
	)
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb"), "TACT_NOW": "2026-11-01T00:00:00Z", "TACT_LOG": "debug"}
	files := map[string]string{
		"profiles": write(t, dir, "p.csv", fmt.Sprintf("user_id,email,phone,nickname\n%s,%s,%s,%s\n", uid, email, phone, nick)),
		"events":   write(t, dir, "e.csv", fmt.Sprintf("email,event,timestamp,properties\n%s,purchase,2026-10-01T00:00:00Z,\"{\"\"note\"\":\"\"%s\"\"}\"\n", email, nick)),
		"consents": write(t, dir, "c.csv", fmt.Sprintf("phone,purpose,channel,status,timestamp\n%s,marketing,sms,granted,2026-10-01T00:00:00Z\n", phone)),
	}
	var logs strings.Builder
	for _, args := range [][]string{
		{"import", "profiles", files["profiles"]},
		{"import", "events", files["events"]},
		{"import", "consents", files["consents"]},
		{"profile", "show", "--user", email},
		{"privacy", "export", "--user", phone},
		{"privacy", "rectify", "--user", uid, "--set", "nickname=" + nick + "-2"},
		{"privacy", "restrict", "--user", email},
		{"privacy", "object", "--user", email},
		{"privacy", "requests", "--all"},
		{"privacy", "erase", "--user", email},
		{"privacy", "purge", "--event", "*=30d"},
		{"audit", "verify"},
	} {
		_, stderr, code := tact(t, env, args...)
		require.Equal(t, 0, code, "%v: %s", args, stderr)
		logs.WriteString(stderr)
	}
	// The segment path, once the segment command exists: run before the
	// erasure on a fresh copy of the data.
	if _, ok := commands()["segment"]; ok {
		segEnv := map[string]string{"TACT_DB": filepath.Join(dir, "seg.duckdb"), "TACT_NOW": env["TACT_NOW"], "TACT_LOG": "debug"}
		for _, args := range [][]string{
			{"import", "profiles", files["profiles"]},
			{"import", "consents", files["consents"]},
			{"segment", "count", `nickname != ""`, "--purpose", "marketing", "--channel", "sms", "--json"},
			{"segment", "members", `nickname != ""`, "--purpose", "marketing", "--channel", "sms"},
		} {
			_, stderr, code := tact(t, segEnv, args...)
			if code != 0 {
				t.Logf("segment path not usable yet (%v): exit %d", args, code)
				break
			}
			logs.WriteString(stderr)
		}
	}
	require.Contains(t, logs.String(), "level=INFO", "control: debug logging was on")
	require.Contains(t, logs.String(), "profile erased")
	for _, secret := range []string{email, phone, nick, uid, "7700900555", "distinctive-cli-example"} {
		require.NotContains(t, logs.String(), secret)
	}
}
