package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tactcdp/tact/engine"
)

// TestMembersWithoutPurposeAreIDsAndAudited (item 5): `segment members`
// without --purpose prints profile ids only (a person who withdrew
// everything keeps their email out of it) unless the operator passes
// --all-fields; each export is in the audit log with its row count.
// Also item 1: `consent set --status withdrawn` without --purpose and
// --channel records a withdraw-all.
func TestMembersWithoutPurposeAreIDsAndAudited(t *testing.T) {
	t.Parallel()
	env := withProfiles(t, "user_id,email\nu1,ann@example.com\nu2,bob@example.com\n")
	out, stderr, code := tact(t, env, "consent", "set", "--user", "u1", "--status", "withdrawn")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "withdraw-all")
	out, _, code = tact(t, env, "consent", "show", "--user", "u1")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"purpose": "*"`)
	_, stderr, code = tact(t, env, "consent", "set", "--user", "u1", "--channel", "email", "--status", "granted")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "purpose")

	out, stderr, code = tact(t, env, "segment", "members", "true")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "profile_id\n1\n2\n", out)
	out, stderr, code = tact(t, env, "segment", "members", "true", "--format", "jsonl")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, out, "example.com")
	out, stderr, code = tact(t, env, "segment", "members", `email == "bob@example.com"`, "--all-fields")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "bob@example.com")

	out, _, code = tact(t, env, "audit", "log")
	require.Equal(t, 0, code)
	require.Equal(t, 3, strings.Count(out, "segment members"), out)
	require.NotContains(t, out, "bob@example.com", "expression literals are masked")
	require.Contains(t, out, `email == \"?\"`)
}

// TestRightsConfigKeys: the top-level keys of the rights work parse.
func TestRightsConfigKeys(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig("t.yaml", []byte("event_skew: 2h\nhash_key: file:/tmp/k.key\nserver:\n  write_keys: [\"wk_abcdefgh\", {key: \"wk_server_1\", trust: server}]\n  webhook_freshness: 30m\n"))
	require.NoError(t, err)
	e := cfg.Engine()
	require.Equal(t, "2h0m0s", e.EventSkew.String())
	require.Equal(t, "file:/tmp/k.key", e.HashKey)
	require.Equal(t, "/tmp/k.key", engine.HashKeyFile("t.duckdb", e))
	require.Len(t, cfg.Server.WriteKeys, 2)
	require.NoError(t, cfg.Server.Validate())
}

// withProfiles is a fresh database (TACT_DB, with TACT_NOW fixed) holding
// the profiles of crm (CSV text), imported through the CLI.
func withProfiles(t *testing.T, crm string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb"), "TACT_NOW": "2026-11-01T00:00:00Z"}
	_, stderr, code := tact(t, env, "import", "profiles", write(t, dir, "crm.csv", crm))
	require.Equal(t, 0, code, stderr)
	return env
}
