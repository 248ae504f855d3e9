package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Compact rewrites a database file so that nothing deleted survives in it.
// DuckDB does not scrub freed blocks: after a delete and a checkpoint the
// old values stay in the file until the blocks are reused. Compact
// waits for the connections in use to be returned, checkpoints, copies
// every table into a fresh file (ATTACH + COPY FROM DATABASE) while nothing
// else is connected, closes the database, moves the fresh file over the old one (removing any WAL), and
// opens it again under the same pool: the *sql.DB from DB() stays valid,
// and queries issued meanwhile wait for the new file. Erase calls Compact
// unless told not to. Only the database file and its WAL are
// rewritten; blocks the file system freed when the old file was replaced
// are outside DuckDB's reach (use encrypted storage for those).
//
// WithCompactProgress reports how far the copy has got.
func (s *Store) Compact(ctx context.Context, opts ...CompactOption) error {
	var o compactOptions
	for _, opt := range opts {
		opt(&o)
	}
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
	// The copy runs inside the swap, with every other connection drained:
	// the journey runner and others write under locks of their own, and a
	// write between a copy and the swap would be lost with the old file.
	copyFresh := func(db *sql.DB) error {
		if err := copyTo(ctx, db, tmp, o.progress); err != nil {
			_ = os.Remove(tmp)
			_ = os.Remove(tmp + ".wal")
			return fmt.Errorf("copy: %w", err)
		}
		return nil
	}
	err := s.conn.replace(ctx, s.db, s.path, copyFresh, func() error {
		if err := os.Rename(tmp, s.path); err != nil {
			return err
		}
		if err := os.Remove(s.path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", s.path, err)
	}
	s.log.Info("database compacted")
	return nil
}

// copyTo checkpoints and copies the whole database into a new file,
// reporting the fresh file's growth to progress (if not nil).
func copyTo(ctx context.Context, db *sql.DB, path string, progress func(CompactProgress)) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "FORCE CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var name string
	var used int64
	if err := conn.QueryRowContext(ctx, "SELECT database_name, used_blocks * block_size FROM pragma_database_size() WHERE database_name = current_database()").Scan(&name, &used); err != nil {
		return err
	}
	if progress != nil {
		stop := watchGrowth(path, used, progress)
		defer func() { stop(err == nil) }()
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
