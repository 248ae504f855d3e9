package engine_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestMain lets the test binary act as a second process that holds a
// database open (see TestLockedFileError).
func TestMain(m *testing.M) {
	if path := os.Getenv("TACT_TEST_HOLD_DB"); path != "" {
		s, err := engine.Open(context.Background(), path, engine.Options{})
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString("ready\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold until the parent closes stdin
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockedFileError(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "held.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TACT_TEST_HOLD_DB="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	_, err = engine.Open(context.Background(), path, engine.Options{})
	var le *engine.LockedError
	require.True(t, errors.As(err, &le), "want *engine.LockedError, got %v", err)
	require.Contains(t, err.Error(), "database "+path+" is in use by another process")
	require.Contains(t, err.Error(), "PID")
	require.NotContains(t, err.Error(), "IO Error", "DuckDB's own text is not passed through")
	require.False(t, strings.Contains(err.Error(), "\n"))
	require.Contains(t, err.Error(), "--server URL", "the error names the way out while tact serve runs")

	// Why the way out is the server's API and not a read-only open: DuckDB
	// refuses read-only opens of a file another process writes too.
	ro, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err == nil {
		err = ro.Ping()
		ro.Close()
	}
	require.ErrorContains(t, err, "Conflicting lock")
}

func TestReopenKeepsDataAndAppliesMigrationsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s, err := engine.Open(ctx, path, engine.Options{})
	require.NoError(t, err)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email\nu1,a@example.com\n"))
	hash := s.HashIdentifier(engine.KindEmail, "a@example.com")
	require.NoError(t, s.Close())

	s, err = engine.Open(ctx, path, engine.Options{})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, 1, counts(t, s).Profiles)
	require.Equal(t, hash, s.HashIdentifier(engine.KindEmail, "a@example.com"), "the hash key survives a restart")
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = '0001_init'`).Scan(&n))
	require.Equal(t, 1, n)
}

// TestProfileTablesCoverTheSchema keeps ProfileTables honest: every table
// with a profile_id column must be in it, or be one the engine rebuilds.
func TestProfileTablesCoverTheSchema(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	rows, err := s.DB().Query(`SELECT DISTINCT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) WHERE c.column_name = 'profile_id' AND c.table_schema = 'main' AND t.table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	listed := map[string]bool{"consent_state": true, "merges": true}
	for _, t := range engine.ProfileTables() {
		listed[t] = true
	}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		require.True(t, listed[name], "table %s has a profile_id column but is not in engine.ProfileTables", name)
	}
}

func TestSuppressions(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	require.NoError(t, s.Suppress(ctx, engine.KindEmail, " Bounce@Example.com", engine.SuppressHardBounce, "ses"))
	require.NoError(t, s.Suppress(ctx, engine.KindEmail, "bounce@example.com", engine.SuppressComplaint, "ses"))
	ok, reason, err := s.Suppressed(ctx, engine.KindEmail, "BOUNCE@example.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, engine.SuppressHardBounce, reason, "the first reason is kept")
	var stored string
	require.NoError(t, s.DB().QueryRow(`SELECT addr_hash FROM suppressions`).Scan(&stored))
	require.NotContains(t, stored, "bounce", "only the keyed hash is stored")
	ok, _, err = s.Suppressed(ctx, engine.KindPhone, "+66812345678")
	require.NoError(t, err)
	require.False(t, ok)
	require.ErrorContains(t, s.Suppress(ctx, engine.KindEmail, "nope", engine.SuppressManual, "cli"), "address")
	require.NoError(t, s.Unsuppress(ctx, engine.KindEmail, "bounce@example.com"))
	ok, _, err = s.Suppressed(ctx, engine.KindEmail, "bounce@example.com")
	require.NoError(t, err)
	require.False(t, ok)
}
