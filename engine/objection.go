package engine

import "time"

// endMarketingJourneys ends, inside the objection's own transaction, every
// active instance the person has in a journey whose version is not
// transactional (reason objected), and logs each end in the journey log,
// so no marketing step of theirs runs after the objection commits.
func (s *Store) endMarketingJourneys(w *writer, profileID int64, now time.Time) (int64, error) {
	const active = `FROM journey_instances i
JOIN journey_versions v ON v.journey = i.journey AND v.version = i.version
WHERE i.profile_id = ? AND i.status = 'active' AND v.purpose <> 'transactional'`
	if _, err := w.exec(`INSERT INTO journey_log SELECT ?::TIMESTAMP, i.journey, i.version, i.step, i.profile_id, i.id, 'exited', 'objected', NULL `+active, now, profileID); err != nil {
		return 0, err
	}
	res, err := w.exec(`UPDATE journey_instances SET status = 'exited', exit_reason = 'objected', finished_at = ?, held_reason = NULL
WHERE id IN (SELECT i.id `+active+`)`, now, profileID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
