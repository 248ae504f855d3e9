package engine

import (
	"context"
	"errors"
	"fmt"
)

// warmProbes is how many random message-id hashes WarmIngestion probes
// event_ids with. Measured on a database holding 6.4M message ids: 32,768
// probes took 1.1–1.2 s and left the commits after the first at their
// steady cost; 100,000 took 1.3 s and did no better.
const warmProbes = 32_768

// errWarmRolledBack ends WarmIngestion's transaction: it writes nothing.
var errWarmRolledBack = errors.New("engine: warm-up rolled back")

// WarmIngestion loads the index an ingestion group commit reads into
// memory, ahead of the first request. DuckDB reads an index's nodes from
// the database file when a lookup first goes through them, so after the
// database was opened the first group commits paid for the nodes their
// message ids went through: 765, 372, 196, 153 and 135 ms for the first
// five commits of 800 events on 6.4M stored ids, against 65–70 ms once
// loaded (docs/benchmarks.md, "A server's first commits"). It probes the
// primary key of event_ids with random hashes, the way ingest-register-ids
// does, under the write lock, in a transaction it rolls back: nothing is
// written. A database with no message ids has nothing to warm.
func (s *Store) WarmIngestion(ctx context.Context) error {
	var stored bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM event_ids)`).Scan(&stored); err != nil || !stored {
		return err
	}
	err := s.write(ctx, func(w *writer) error {
		if _, err := w.exec(fmt.Sprintf(ingestQuery("warm-event-ids"), warmProbes)); err != nil {
			return fmt.Errorf("warm the message ids' index: %w", err)
		}
		return errWarmRolledBack
	})
	if errors.Is(err, errWarmRolledBack) {
		return nil
	}
	return err
}
