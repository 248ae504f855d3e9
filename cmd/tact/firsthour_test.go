package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConsentSetReportsWhatHappenedUnderTheRealClock: without a pinned
// clock, a withdrawal is reported as not granted (the check used to run at
// an instant taken before the entry was recorded).
func TestConsentSetReportsWhatHappenedUnderTheRealClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb")}
	_, stderr, code := tact(t, env, "import", "profiles", write(t, dir, "p.csv", "user_id,email\nu1,u1@example.com\n"))
	require.Equal(t, 0, code, stderr)
	out, stderr, code := tact(t, env, "consent", "set", "--user", "u1", "--purpose", "marketing", "--channel", "email", "--status", "granted")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "recorded; marketing on email is now granted (granted)\n", out)
	out, stderr, code = tact(t, env, "consent", "set", "--user", "u1", "--purpose", "marketing", "--channel", "email", "--status", "withdrawn")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "recorded; marketing on email is now not granted (withdrawn)\n", out)
}

// TestServeAcceptsTheREADMEConfigurationWithItsVariables: a configuration
// that names TACT_ADMIN_TOKEN and TACT_WRITE_KEY (as the README's does)
// starts with both variables set; they are not added a second time.
func TestServeAcceptsTheREADMEConfigurationWithItsVariables(t *testing.T) {
	t.Setenv("TACT_ADMIN_TOKEN", "admin-token-from-the-environment-0123456")
	t.Setenv("TACT_WRITE_KEY", "write-key-from-the-environment")
	dir := t.TempDir()
	cfg := write(t, dir, "tact.yaml", "server:\n  write_keys: [\"env:TACT_WRITE_KEY\"]\n  tokens:\n    - {name: ops, role: admin, token: \"env:TACT_ADMIN_TOKEN\"}\n")
	env := map[string]string{"TACT_ADMIN_TOKEN": "admin-token-from-the-environment-0123456", "TACT_WRITE_KEY": "write-key-from-the-environment"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServe(ctx, t, env, "--db", filepath.Join(dir, "t.duckdb"), "--config", cfg, "serve", "--addr", "127.0.0.1:0")
	cancel()
	srv.wait(t)
}

// TestJourneyChecksTemplatesFromTheConfig: outside the repository folder
// the templates named in tact.yaml (channels.templates.dir) are the ones a
// journey is checked against, so a missing template fails validation.
func TestJourneyChecksTemplatesFromTheConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs, err := filepath.Abs("../../testdata/templates")
	require.NoError(t, err)
	cfg := write(t, dir, "tact.yaml", "channels:\n  templates: {dir: "+abs+"}\n")
	spec := write(t, dir, "j.yaml", "name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: nope}\n")
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb")}
	stdout, stderr, code := tact(t, env, "--config", cfg, "journey", "validate", spec)
	require.NotEqual(t, 0, code)
	require.Contains(t, stdout+stderr, `template "nope" does not exist`)
	ok := write(t, dir, "ok.yaml", "name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	_, stderr, code = tact(t, env, "--config", cfg, "journey", "validate", ok)
	require.Equal(t, 0, code, stderr)
}

// TestSegmentOnAnEmptyDatabaseSaysSo: an expression over a database with
// no profiles names the real problem, not only the unknown name.
func TestSegmentOnAnEmptyDatabaseSaysSo(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TACT_DB": filepath.Join(t.TempDir(), "empty.duckdb")}
	_, stderr, code := tact(t, env, "segment", "count", `plan == "pro"`)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "unknown name plan")
	require.Contains(t, stderr, "holds no profiles yet")
}
