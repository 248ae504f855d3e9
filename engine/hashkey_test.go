package engine_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/marcboeker/go-duckdb"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
)

func metaValue(t *testing.T, path, key string) (string, bool) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	defer db.Close()
	var v string
	err = db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false
	}
	require.NoError(t, err)
	return v, true
}

// TestHashKeyLivesOutsideTheDatabase (item 11): the keyed-hash key is in a
// 0600 file beside the database (or an environment variable), never in the
// file itself; an old database's key moves out of meta and its bytes leave
// the file; a database without its key refuses to open.
func TestHashKeyLivesOutsideTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := engine.Options{Config: testConfig(), Clock: clock.NewManual(refNow)}
	path := filepath.Join(t.TempDir(), "tact.duckdb")
	s, err := engine.Open(ctx, path, opts)
	require.NoError(t, err)
	hash := s.HashIdentifier("email", "a@example.com")
	require.NoError(t, s.Close())
	st, err := os.Stat(path + ".key")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	keyHex, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	_, inMeta := metaValue(t, path, "hash_key")
	require.False(t, inMeta, "the key must not be in the database")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, bytes.TrimSpace(keyHex)))

	// Reopening reads the same key.
	s, err = engine.Open(ctx, path, opts)
	require.NoError(t, err)
	require.Equal(t, hash, s.HashIdentifier("email", "a@example.com"))
	require.NoError(t, s.Close())

	// Without the key file the database does not open (a new key would
	// void every suppression).
	require.NoError(t, os.Rename(path+".key", path+".key.bak"))
	_, err = engine.Open(ctx, path, opts)
	var he *engine.HashKeyError
	require.True(t, errors.As(err, &he), "%v", err)
	// A wrong key is refused too.
	require.NoError(t, os.WriteFile(path+".key", []byte(hex.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600))
	_, err = engine.Open(ctx, path, opts)
	require.True(t, errors.As(err, &he), "%v", err)
	require.NoError(t, os.Rename(path+".key.bak", path+".key"))

	// An old database with its key in meta: the key moves to the file.
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM meta WHERE key = 'hash_key_check'; INSERT INTO meta VALUES ('hash_key', ?)`, string(bytes.TrimSpace(keyHex)))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, os.Remove(path+".key"))
	s, err = engine.Open(ctx, path, opts)
	require.NoError(t, err)
	require.Equal(t, hash, s.HashIdentifier("email", "a@example.com"))
	require.NoError(t, s.Close())
	moved, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	require.Equal(t, keyHex, moved)
	_, inMeta = metaValue(t, path, "hash_key")
	require.False(t, inMeta)
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, bytes.TrimSpace(keyHex)), "the old key's bytes are gone from the file")

	// A key from the environment: no file is written.
	envPath := filepath.Join(t.TempDir(), "env.duckdb")
	envOpts := opts
	envName := "TACT_TEST_HASH_KEY_" + hex.EncodeToString([]byte(t.Name()))[:8]
	envOpts.Config.HashKey = "env:" + envName
	require.NoError(t, os.Setenv(envName, string(bytes.TrimSpace(keyHex))))
	t.Cleanup(func() { os.Unsetenv(envName) })
	s, err = engine.Open(ctx, envPath, envOpts)
	require.NoError(t, err)
	require.Equal(t, hash, s.HashIdentifier("email", "a@example.com"))
	require.NoError(t, s.Close())
	require.NoFileExists(t, envPath+".key")

	// Memory databases keep working with an in-process key.
	m, err := engine.Open(ctx, engine.MemoryPath, opts)
	require.NoError(t, err)
	require.NotEmpty(t, m.HashIdentifier("email", "a@example.com"))
	require.NoError(t, m.Close())
}
