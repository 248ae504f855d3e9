package engine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// DerivedKey is a 32-byte key for purpose label derived from the store's
// hashing key (HMAC-SHA256), so every secret Tact needs besides it lives
// with it: a key file beside the database, or the environment. It is
// stable across restarts and reveals nothing about the hashing key.
func (s *Store) DerivedKey(label string) []byte {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write([]byte("tact derived key v1\x00" + label))
	return m.Sum(nil)
}

// DefaultHashKeyEnv is the environment variable read for the keyed-hash key
// when Config.HashKeyEnv is empty.
const DefaultHashKeyEnv = "TACT_HASH_KEY"

// hashKeyLen is the keyed-hash key's length in bytes.
const hashKeyLen = 32

// HashKeyError reports a keyed-hash key that is missing, malformed or does
// not belong to the database.
type HashKeyError struct {
	// Source names where the key was looked for: a file path or "$NAME".
	Source string
	Msg    string
}

// Error names where the key was looked for and what is wrong.
func (e *HashKeyError) Error() string { return fmt.Sprintf("hash key %s: %s", e.Source, e.Msg) }

// HashKeyFile is the file that holds the keyed-hash key of the database at
// path: cfg.HashKey's file, or the database path with ".key" appended. It
// is empty for an in-memory database and for a key from the environment.
func HashKeyFile(path string, cfg Config) string {
	if f, ok := strings.CutPrefix(cfg.HashKey, "file:"); ok {
		return f
	}
	if strings.HasPrefix(cfg.HashKey, "env:") {
		return ""
	}
	if path == MemoryPath {
		return ""
	}
	return path + ".key"
}

// hashKeyCheck is what the database keeps to recognise its key: an HMAC of
// a fixed label, which reveals nothing about the key.
func hashKeyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tact hash key check v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func decodeHashKey(source, text string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil || len(key) != hashKeyLen {
		return nil, &HashKeyError{Source: source, Msg: fmt.Sprintf("want %d hex characters", 2*hashKeyLen)}
	}
	return key, nil
}

// externalHashKey reads the key from the environment variable or the key
// file; nil when neither holds one.
func (s *Store) externalHashKey() ([]byte, string, error) {
	env, named := strings.CutPrefix(s.cfg.HashKey, "env:")
	switch {
	case named:
		v := os.Getenv(env)
		if v == "" {
			return nil, "$" + env, &HashKeyError{Source: "$" + env, Msg: "not set"}
		}
		key, err := decodeHashKey("$"+env, v)
		return key, "$" + env, err
	case s.cfg.HashKey == "":
		if v := os.Getenv(DefaultHashKeyEnv); v != "" {
			key, err := decodeHashKey("$"+DefaultHashKeyEnv, v)
			return key, "$" + DefaultHashKeyEnv, err
		}
	case !strings.HasPrefix(s.cfg.HashKey, "file:"):
		return nil, "hash_key", &HashKeyError{Source: "hash_key", Msg: `want "env:NAME" or "file:PATH"`}
	}
	file := HashKeyFile(s.path, s.cfg)
	if file == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, file, nil
	}
	if err != nil {
		return nil, file, &HashKeyError{Source: file, Msg: err.Error()}
	}
	if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
		s.log.Warn("hash key file is readable by others; chmod 600 it", "file", file)
	}
	key, err := decodeHashKey(file, string(b))
	return key, file, err
}

// writeHashKeyFile creates the key file with mode 0600; it never replaces
// an existing file.
func writeHashKeyFile(file string, key []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &HashKeyError{Source: file, Msg: err.Error()}
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(file)
		return &HashKeyError{Source: file, Msg: err.Error()}
	}
	return nil
}

// loadHashKey finds the keyed-hash key, which lives outside the database:
// in the environment variable (Config.HashKeyEnv) or the key file
// (HashKeyFile). On first open the key file is created. A database that
// still holds its key in meta (before this rule) has it moved to the key
// file, deleted from meta and the file rewritten so it no longer holds the
// key's bytes. The database keeps only a check value, so that opening it
// with the wrong key, or without the key file it was created with, is an
// error rather than a silent new key that would void every suppression.
// An in-memory database without a configured key gets a random one.
func (s *Store) loadHashKey(ctx context.Context) error {
	var inMeta, check string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'hash_key'`).Scan(&inMeta)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load hash key: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'hash_key_check'`).Scan(&check)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load hash key: %w", err)
	}
	key, source, err := s.externalHashKey()
	if err != nil {
		return err
	}
	var legacy []byte
	if inMeta != "" {
		if legacy, err = decodeHashKey("in the database", inMeta); err != nil {
			return err
		}
	}
	switch {
	case key != nil && legacy != nil && !hmac.Equal(key, legacy):
		return &HashKeyError{Source: source, Msg: "differs from the key this database was created with"}
	case key == nil && check != "":
		return &HashKeyError{Source: orStr(source, "(none)"), Msg: "missing: this database's keyed hashes need the key it was created with; restore the key file from the backup"}
	case key == nil:
		key = legacy
		if key == nil {
			key = make([]byte, hashKeyLen)
			if _, err := rand.Read(key); err != nil {
				return err
			}
		}
		if source != "" {
			if err := writeHashKeyFile(source, key); err != nil {
				return err
			}
			s.log.Info("hash key file created", "file", source)
		}
	}
	if check != "" && check != hashKeyCheck(key) {
		return &HashKeyError{Source: source, Msg: "is not the key this database was created with"}
	}
	s.hashKey = key
	if check != "" && legacy == nil {
		return nil
	}
	if err := s.write(ctx, func(w *writer) error {
		if _, err := w.exec(`DELETE FROM meta WHERE key IN ('hash_key', 'hash_key_check')`); err != nil {
			return err
		}
		_, err := w.exec(`INSERT INTO meta VALUES ('hash_key_check', ?)`, hashKeyCheck(key))
		return err
	}); err != nil {
		return fmt.Errorf("store hash key check: %w", err)
	}
	if legacy != nil {
		// The key's bytes stay in freed blocks until the file is rewritten.
		s.log.Info("hash key moved out of the database", "to", source)
		return s.Compact(ctx)
	}
	return nil
}
