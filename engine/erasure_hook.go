package engine

import (
	"context"
	"fmt"
)

// ErasureHook removes a person's data from a place the database does not
// cover (the cluster's events stream) when they are erased. It is given
// the person's identifiers, normalised as stored, and runs inside the
// erasure's transaction before anything is deleted: if it fails, the
// erasure fails and nothing changes (the request can be run again).
type ErasureHook func(ctx context.Context, ids []Identity) error

// SetErasureHook installs h (nil removes it). The engine role of a cluster
// sets one before serving.
func (s *Store) SetErasureHook(h ErasureHook) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.erasureHook = h
}

// runErasureHook gives the hook the identifiers of profile id.
func (s *Store) runErasureHook(w *writer, id int64) error {
	s.hookMu.Lock()
	h := s.erasureHook
	s.hookMu.Unlock()
	if h == nil {
		return nil
	}
	ids, err := identitiesOf(w, id)
	if err != nil {
		return err
	}
	if err := h(w.ctx, ids); err != nil {
		return &ErasureHookError{Err: err}
	}
	return nil
}

// ErasureHookError is an erasure refused because its hook failed (the
// events stream unreachable, say): nothing was erased; run it again.
type ErasureHookError struct{ Err error }

func (e *ErasureHookError) Error() string {
	return fmt.Sprintf("erasure: removing the person's data outside the database failed (nothing was erased; run it again): %v", e.Err)
}

func (e *ErasureHookError) Unwrap() error { return e.Err }

// identitiesOf reads profile id's identifiers inside w.
func identitiesOf(w *writer, id int64) ([]Identity, error) {
	rows, err := w.query(`SELECT kind, value FROM identities WHERE profile_id = ? ORDER BY kind, value`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []Identity
	for rows.Next() {
		var i Identity
		if err := rows.Scan(&i.Kind, &i.Value); err != nil {
			return nil, err
		}
		ids = append(ids, i)
	}
	return ids, rows.Err()
}
