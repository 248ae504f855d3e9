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

// dropStoredIngestEvents is dropStoredEvents for an ingestion batch with
// unresolved rows that need resolution. When it leaves rows out, the
// identifier sets to resolve and the identifiers the batch mentions
// (_keys) are read back from the rows still staged, as stageIngestEvents
// made them, and the rows to resolve counted again.
func (s *Store) dropStoredIngestEvents(w *writer, records []idRecord, unresolved int) ([]idRecord, int, error) {
	gone, err := s.dropStoredEvents(w)
	if err != nil || gone == 0 {
		return records, unresolved, err
	}
	records, err = stagedIngestRecords(w)
	if err != nil {
		return nil, 0, err
	}
	if _, err := w.exec(ingestQuery("ingest-keys-restage"), KindUserID, KindAnonymousID); err != nil {
		return nil, 0, err
	}
	err = w.queryRow(ingestQuery("ingest-unresolved")).Scan(&unresolved)
	return records, unresolved, err
}

// stagedIngestRecords reads the identifier sets of the rows staged in
// _ev, in row order, one record per distinct set.
func stagedIngestRecords(w *writer) ([]idRecord, error) {
	rows, err := w.query(`SELECT _row, user_id, anonymous_id FROM _ev ORDER BY _row`)
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
