package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// ingestProfiles writes a batch's identify and alias rows with the profile
// import's rules, in one transaction that also registers their message ids
// in event_ids. Whether a message was stored before is the one decision
// events get (stored-events): a row whose message id is there already
// (an SDK's retry, or a replay after retention or erasure) is left out
// before anything is validated or resolved, so it changes nothing and
// makes no erased person known again. Within the batch, the first row of
// a message id is the one kept.
func (s *Store) ingestProfiles(ctx context.Context, b IngestBatch, res *IngestResult) error {
	known, err := s.traitTypes(ctx)
	if err != nil {
		return err
	}
	label := b.Label + "-profiles"
	start := s.clock.Now()
	err = s.write(ctx, func(w *writer) error {
		rows, lines, err := newProfileRows(w, b.Profiles, b.ProfileMessageIDs)
		if err != nil {
			return err
		}
		res.ProfilesDuplicate = len(b.Profiles) - len(rows)
		if len(rows) == 0 {
			return nil
		}
		// The first pass runs under the write, which is what makes the
		// check above and the registration one step; a batch's rows are few.
		// Errors name the row's place in the batch, left-out rows counted.
		p, err := s.checkProfiles(ctx, memSource{label: label, rows: rows, lines: lines}, known)
		if err != nil {
			return err
		}
		res.Profiles.Rows = p.rows
		return s.writeProfiles(ctx, w, p, s.now(), &res.Profiles)
	})
	res.Profiles.File, res.Profiles.Kind = label, ImportProfiles
	res.Profiles.Duration = s.clock.Now().Sub(start)
	return err
}

// newProfileRows registers the message ids of rows in event_ids and
// returns the rows to write, with their lines (places in rows, from 1):
// those sent without a message id, and the first row of each message id
// registered now.
func newProfileRows(w *writer, rows []map[string]any, ids []string) ([]map[string]any, []int, error) {
	var staged [][]driver.Value
	for i, id := range ids {
		if id != "" {
			staged = append(staged, []driver.Value{int64(i), id})
		}
	}
	if len(staged) == 0 {
		return rows, nil, nil
	}
	if err := w.temp("_pmsg", "_row BIGINT, message_id VARCHAR"); err != nil {
		return nil, nil, err
	}
	if err := w.appendSlice("_pmsg", staged); err != nil {
		return nil, nil, err
	}
	fresh := map[string]bool{}
	if err := scanEach(w, fmt.Sprintf(ingestQuery("ingest-register-ids"), "_pmsg"), func(scan func(...any) error) error {
		var h string
		err := scan(&h)
		fresh[h] = true
		return err
	}); err != nil {
		return nil, nil, fmt.Errorf("ingest: profile message ids: %w", err)
	}
	keep := make(map[int64]bool, len(fresh))
	if err := scanEach(w, ingestQuery("ingest-profile-ids-first"), func(scan func(...any) error) error {
		var row int64
		var h string
		err := scan(&row, &h)
		keep[row] = fresh[h]
		return err
	}); err != nil {
		return nil, nil, fmt.Errorf("ingest: profile message ids: %w", err)
	}
	out := make([]map[string]any, 0, len(rows))
	lines := make([]int, 0, len(rows))
	for i, row := range rows {
		if ids[i] == "" || keep[int64(i)] {
			out, lines = append(out, row), append(lines, i+1)
		}
	}
	return out, lines, nil
}

// scanEach runs q in w and hands each result row's Scan to fn.
func scanEach(w *writer, q string, fn func(scan func(...any) error) error) error {
	rows, err := w.query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
