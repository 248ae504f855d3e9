package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/marcboeker/go-duckdb"
)

// Compact rewrites a database file so that nothing deleted survives in it.
// DuckDB does not scrub freed blocks: after a delete and a checkpoint the
// old values stay in the file until the blocks are reused. Compact
// checkpoints, copies every table into a fresh file (ATTACH + COPY FROM
// DATABASE), closes the store's connection pool, moves the fresh file over
// the old one (removing any WAL), and opens a new pool on it.
//
// It is a no-op for an in-memory store. It must not run concurrently with
// other use of the store: it replaces the pool, so a *sql.DB obtained from
// DB() before Compact is closed afterwards; call DB() again. Erase calls
// Compact unless told not to. Only the database file and its WAL are
// rewritten; blocks the file system freed when the old file was replaced
// are outside DuckDB's reach (use encrypted storage for those).
func (s *Store) Compact(ctx context.Context) error {
	if s.path == MemoryPath {
		return nil
	}
	if err := s.write(ctx, func(w *writer) error {
		return s.audit(w, "system", AuditDatabaseCompaction, "database", map[string]any{})
	}); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tmp := s.path + ".compact"
	for _, f := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := s.copyTo(ctx, tmp); err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(tmp + ".wal")
		return fmt.Errorf("compact: %w", err)
	}
	if err := s.db.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact: close: %w", err)
	}
	renameErr := os.Rename(tmp, s.path)
	if renameErr == nil {
		if err := os.Remove(s.path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			renameErr = err
		}
	}
	db, err := openDuckDB(ctx, s.path)
	if err != nil {
		return fmt.Errorf("compact: reopen %s: %w", s.path, errors.Join(renameErr, err))
	}
	s.db = db
	if renameErr != nil {
		return fmt.Errorf("compact: replace %s: %w", s.path, renameErr)
	}
	s.log.Info("database compacted")
	return nil
}

// copyTo checkpoints and copies the whole database into a new file.
func (s *Store) copyTo(ctx context.Context, path string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "FORCE CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var name string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		return err
	}
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	if _, err := conn.ExecContext(ctx, "ATTACH "+lit+" AS tact_compact"); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("COPY FROM DATABASE %s TO tact_compact", quoteIdent(name)))
	if err == nil {
		_, err = conn.ExecContext(ctx, "CHECKPOINT tact_compact")
	}
	_, detachErr := conn.ExecContext(context.WithoutCancel(ctx), "DETACH tact_compact")
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return detachErr
}

func openDuckDB(ctx context.Context, path string) (*sql.DB, error) {
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, openError(path, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	return db, nil
}
