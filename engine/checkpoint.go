package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Checkpoints. DuckDB writes each commit to a write-ahead log and moves the
// log into the database file (a checkpoint) when the log passes
// checkpoint_threshold, inside the commit that crosses it. A checkpoint
// rewrites what changed, indexes included: measured on 2 cores with 1M
// profiles and 6.4M events, one took 3–5 s, and every writer (the HTTP
// group commit first) waited behind it. At DuckDB's default of 16 MB that
// was one commit in about 150k ingested events, enough to set the p99 of a
// ten-second ingestion run.
//
// So the store raises the threshold (DefaultCheckpointThreshold), making
// those stalls rare, and a long-running process checkpoints on its own when
// writes pause (CheckpointWhenQuiet), where nobody waits. The price is
// replay: a restart after a crash replays the log, measured at about 40 ms
// per MB (2 s for 55 MB, the log of 480k events); a clean Close checkpoints.

// DefaultCheckpointThreshold is DuckDB's checkpoint_threshold when
// Config.CheckpointThreshold is empty: about 2M ingested events between
// checkpoints under load, and about 10 s of replay after a crash.
const DefaultCheckpointThreshold = "256MB"

// DefaultCheckpointQuiet is Config.CheckpointQuiet when it is zero.
const DefaultCheckpointQuiet = 5 * time.Second

// quietCheckpointMinWAL is the smallest log worth a quiet checkpoint: below
// DuckDB's own threshold a checkpoint saves no replay worth its work.
const quietCheckpointMinWAL = 16 << 20

// Checkpoint moves the write-ahead log into the database file now, between
// the store's writes. DuckDB refuses while another transaction runs (a
// long read, for instance); the error says so and nothing changes.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.path == MemoryPath {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// walSize is the size of the database's write-ahead log (0 when there is
// none, as after a checkpoint).
func (s *Store) walSize() (int64, error) {
	fi, err := os.Stat(s.path + ".wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// CheckpointWhenQuiet checkpoints whenever the write-ahead log holds at
// least 16 MB and has not grown for Config.CheckpointQuiet, until ctx
// ends. A checkpoint DuckDB refuses (a read was running) is logged and
// tried again at the next quiet spell. It returns at once for an in-memory
// store or a negative CheckpointQuiet.
func (s *Store) CheckpointWhenQuiet(ctx context.Context) {
	quiet := s.cfg.CheckpointQuiet
	if quiet == 0 {
		quiet = DefaultCheckpointQuiet
	}
	if quiet < 0 || s.path == MemoryPath {
		return
	}
	q := &quietCheckpoints{s: s, minWAL: quietCheckpointMinWAL}
	t := time.NewTicker(quiet)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := q.step(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("quiet checkpoint deferred", "err", err)
		}
	}
}

// quietCheckpoints remembers the log's size at the previous look.
type quietCheckpoints struct {
	s      *Store
	minWAL int64
	last   int64
}

// step looks at the log once: it checkpoints when the log is large enough
// and the same size as at the previous look (nothing was committed in
// between), and says whether it did.
func (q *quietCheckpoints) step(ctx context.Context) (bool, error) {
	size, err := q.s.walSize()
	if err != nil {
		return false, err
	}
	prev := q.last
	q.last = size
	if size < q.minWAL || size != prev {
		return false, nil
	}
	start := time.Now()
	if err := q.s.Checkpoint(ctx); err != nil {
		return false, err
	}
	q.last = 0
	q.s.log.Info("checkpointed while writes paused", "wal_bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}
