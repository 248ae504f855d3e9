package engine

import (
	"database/sql"
	"fmt"
)

// dropStoredEvents leaves out of the events stage (_ev) the rows whose
// message id was stored before (stored-events in queries.sql), ahead of
// identity resolution, and returns how many it left out. The caller then
// leaves their identifier sets out of resolution: each stage records them
// its own way. While event_ids is empty there is nothing to ask, and a
// fresh database's first import pays nothing.
func (s *Store) dropStoredEvents(w *writer) (int, error) {
	var stored bool
	if err := w.queryRow(`SELECT EXISTS (SELECT 1 FROM event_ids)`).Scan(&stored); err != nil || !stored {
		return 0, err
	}
	r, err := w.exec(s.query("stored-events"))
	if err != nil {
		return 0, fmt.Errorf("events stored before: %w", err)
	}
	gone, err := r.RowsAffected()
	return int(gone), err
}

// dropStoredEventRuns is dropStoredEvents for a stage whose _idrows holds
// runs (the row path's idSetRuns): the runs no remaining row is in go too.
func (s *Store) dropStoredEventRuns(w *writer) error {
	gone, err := s.dropStoredEvents(w)
	if err != nil || gone == 0 {
		return err
	}
	if _, err := w.exec(s.query("stored-events-runs")); err != nil {
		return fmt.Errorf("events stored before: %w", err)
	}
	return nil
}

// dropStoredIngestEvents is dropStoredEvents for an ingestion batch whose
// records (unresolvedRecords) need resolution. When it leaves rows out,
// the identifiers the batch mentions (_evkeys) are staged again from the
// rows still staged, and the records to resolve read again.
func (s *Store) dropStoredIngestEvents(w *writer, records []idRecord) ([]idRecord, error) {
	gone, err := s.dropStoredEvents(w)
	if err != nil || gone == 0 {
		return records, err
	}
	if _, err := w.exec(ingestQuery("ingest-keys-restage"), KindUserID, KindAnonymousID); err != nil {
		return nil, err
	}
	return unresolvedRecords(w)
}

// unresolvedRecords reads the staged ingestion rows that need resolution
// (ingest-unresolved) as identity records, one per distinct identifier
// set, in row order, each with its row's line.
func unresolvedRecords(w *writer) ([]idRecord, error) {
	rows, err := w.query(ingestQuery("ingest-unresolved"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	uid, anon := kindIndex(KindUserID), kindIndex(KindAnonymousID)
	var tuples idTuples
	for rows.Next() {
		var row int64
		var u, a sql.NullString
		if err := rows.Scan(&row, &u, &a); err != nil {
			return nil, err
		}
		var ids [numKinds]string
		ids[uid], ids[anon] = u.String, a.String
		tuples.add(ids, int(row)+1)
	}
	return tuples.done(), rows.Err()
}
