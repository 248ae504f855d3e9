package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// ingestEvents stores a batch of events in one transaction, set-based:
// the batch is appended to a stage (_ev) in one go, its identifiers are
// looked up with one join that has the batch on its small side, message
// ids are de-duplicated by index lookups into event_ids, and the rules of
// the import apply unchanged: identifiers nobody holds yet go through
// upsertProfiles (resolution, trust), tracking permission through
// dropUntracked.
func (s *Store) ingestEvents(ctx context.Context, label string, ev *IngestEvents, res *IngestResult) error {
	return s.write(ctx, func(w *writer) error {
		now := s.now()
		if err := s.stageIngestEvents(w, label, ev); err != nil {
			return err
		}
		if _, err := w.exec(ingestQuery("ingest-owners")); err != nil {
			return fmt.Errorf("ingest: identity owners: %w", err)
		}
		w.temps = append(w.temps, "_evowner")
		records, err := unresolvedRecords(w)
		if err != nil {
			return err
		}
		if len(records) > 0 {
			// Before anyone new is made known: a replayed event (stored
			// before, then deleted by retention or erasure) resolves no
			// one. The rows of known people need no such check; their
			// message ids are de-duplicated below, by index lookups.
			if records, err = s.dropStoredIngestEvents(w, records); err != nil {
				return err
			}
		}
		if len(records) > 0 {
			// Someone new, a new identifier or a link between two: the
			// import's resolution decides for those rows alone (and
			// refuses what a client key may not do), then the owners are
			// read again.
			res.EventsResolved = true
			if err := s.stageIdentityOnly(w, records); err != nil {
				return err
			}
			var pr ImportResult
			if err := s.upsertProfiles(w, "_pstage", nil, records, label, &pr); err != nil {
				return err
			}
			if _, err := w.exec(ingestQuery("ingest-owners")); err != nil {
				return fmt.Errorf("ingest: identity owners: %w", err)
			}
		}
		// A trusted batch vouches for the client-reported identifiers it
		// mentions, resolved or not.
		if err := s.noteClientIdentities(w, "_evkeys", nil, now); err != nil {
			return err
		}
		dropped, err := s.dropUntrackedBy(w, "_evowner", label, now)
		if err != nil {
			return err
		}
		res.EventsDropped = dropped
		fresh, err := s.registerMessageIDs(w)
		if err != nil {
			return err
		}
		r, err := w.exec(ingestQuery("ingest-insert-events"), now, label)
		if err != nil {
			return fmt.Errorf("ingest: insert events: %w", err)
		}
		added, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if int(added) != fresh {
			return fmt.Errorf("ingest: %d new message ids but %d events stored", fresh, added)
		}
		kept := ev.Len()
		for _, n := range dropped {
			kept -= n
		}
		res.EventsAdded, res.EventsDuplicate = int(added), kept-int(added)
		return nil
	})
}

// stageIngestEvents appends the batch to _ev and its distinct identifiers
// to _evkeys, normalised by the import's rule.
func (s *Store) stageIngestEvents(w *writer, label string, ev *IngestEvents) error {
	if err := w.temp("_ev", "_row BIGINT, _pkind VARCHAR, _pvalue VARCHAR, user_id VARCHAR, anonymous_id VARCHAR, event VARCHAR, ts TIMESTAMP, properties VARCHAR, message_id VARCHAR, context VARCHAR"); err != nil {
		return err
	}
	if err := w.temp("_evkeys", "kind VARCHAR, value VARCHAR"); err != nil {
		return err
	}
	uid, anon := kindIndex(KindUserID), kindIndex(KindAnonymousID)
	keys := map[idKey]bool{}
	var keyRows [][]driver.Value
	rows := make([][]driver.Value, 0, ev.Len())
	for i := range ev.Event {
		var ids [numKinds]string
		for _, c := range []struct {
			k   int
			raw string
		}{{uid, ev.UserID[i]}, {anon, ev.AnonymousID[i]}} {
			if c.raw == "" {
				continue
			}
			v, err := normaliseIdentifier(IdentityKinds()[c.k], c.raw, "")
			if err != nil {
				return &ImportError{File: label, Line: i + 1, Field: IdentityKinds()[c.k], Msg: err.Error()}
			}
			ids[c.k] = v
			if !keys[idKey{c.k, v}] {
				keys[idKey{c.k, v}] = true
				keyRows = append(keyRows, []driver.Value{IdentityKinds()[c.k], v})
			}
		}
		kind, value := primary(ids)
		if kind == "" {
			return &ImportError{File: label, Line: i + 1, Msg: "row has no identity (" + identityList() + ")"}
		}
		if ev.MessageID[i] == "" {
			return &ImportError{File: label, Line: i + 1, Field: "message_id", Msg: "message_id is required"}
		}
		rows = append(rows, []driver.Value{int64(i), kind, value, nullable(ids[uid]), nullable(ids[anon]), ev.Event[i], ev.TS[i],
			nullable(ev.Properties[i]), ev.MessageID[i], nullable(ev.Context[i])})
	}
	if err := w.appendSlice("_ev", rows); err != nil {
		return err
	}
	return w.appendSlice("_evkeys", keyRows)
}

// registerMessageIDs adds the batch's message ids to event_ids and stages
// the ones seen for the first time in _fresh; it returns their number.
func (s *Store) registerMessageIDs(w *writer) (int, error) {
	var fresh [][]driver.Value
	if err := scanEach(w, fmt.Sprintf(ingestQuery("ingest-register-ids"), "_ev"), func(scan func(...any) error) error {
		var h string
		err := scan(&h)
		fresh = append(fresh, []driver.Value{h})
		return err
	}); err != nil {
		return 0, fmt.Errorf("ingest: message ids: %w", err)
	}
	if err := w.temp("_fresh", "id_hash VARCHAR"); err != nil {
		return 0, err
	}
	return len(fresh), w.appendSlice("_fresh", fresh)
}
