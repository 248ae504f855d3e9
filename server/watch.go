package server

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
)

// ProfileWatcher is told which profiles just changed through ingestion.
type ProfileWatcher interface {
	ProfilesChanged(ctx context.Context, ids []int64) error
}

type idPair struct {
	K string `json:"k"`
	V string `json:"v"`
}

var watchedKinds = []string{engine.KindUserID, engine.KindEmail, engine.KindPhone, engine.KindAnonymousID} //nolint:gochecknoglobals // read-only after initialisation

// afterFlush runs on the ingester goroutine after a commit: it wakes the
// scheduler (event entries) and hands the identifiers written to the
// watcher loop, off the acknowledgement path.
func (s *Server) afterFlush(written []*ingestItem) {
	s.Nudge()
	if s.watcher == nil {
		return
	}
	seen := map[idPair]bool{}
	var ids []idPair
	add := func(rows []map[string]any) {
		for _, row := range rows {
			for _, k := range watchedKinds {
				if v, ok := row[k].(string); ok && v != "" {
					p := idPair{k, strings.TrimSpace(v)}
					if !seen[p] {
						seen[p] = true
						ids = append(ids, p)
					}
				}
			}
		}
	}
	for _, it := range written {
		add(it.profiles)
		add(it.events)
	}
	if len(ids) == 0 {
		return
	}
	select {
	case s.changed <- watchItem{pairs: ids}:
	default:
		s.log.Warn("profile change notifications dropped; the scheduled segment check will catch up", "identifiers", len(ids))
	}
}

// watchLoop resolves changed identifiers to profiles, coalescing bursts,
// and tells the watcher.
func (s *Server) watchLoop() {
	defer s.watchWG.Done()
	for first := range s.changed {
		batch := first.pairs
		var waiters []chan struct{}
		if first.done != nil {
			waiters = append(waiters, first.done)
		}
	drain:
		for len(batch) < 50_000 {
			select {
			case more, ok := <-s.changed:
				if !ok {
					break drain
				}
				batch = append(batch, more.pairs...)
				if more.done != nil {
					waiters = append(waiters, more.done)
				}
			default:
				break drain
			}
		}
		s.notifyChanged(batch)
		for _, w := range waiters {
			close(w)
		}
	}
}

// watchItem is a batch of changed identifiers, or (done set) a marker
// closed once everything queued before it has been handled.
type watchItem struct {
	pairs []idPair
	done  chan struct{}
}

// syncWatcher waits until the profile-change notifications queued so far
// have been delivered (tests).
func (s *Server) syncWatcher(ctx context.Context) error {
	if s.watcher == nil {
		return nil
	}
	done := make(chan struct{})
	select {
	case s.changed <- watchItem{done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) notifyChanged(batch []idPair) {
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	ids, err := s.resolvePairs(ctx, batch)
	if err != nil {
		s.log.Error("resolve changed profiles failed", "err", errClass(err))
		return
	}
	if len(ids) == 0 {
		return
	}
	if err := s.watcher.ProfilesChanged(ctx, ids); err != nil {
		s.log.Error("profile change hook failed", "err", errClass(err))
	}
	s.Nudge()
}

// resolvePairs maps identifiers to profile ids in one query.
func (s *Server) resolvePairs(ctx context.Context, pairs []idPair) ([]int64, error) {
	b, err := json.Marshal(pairs)
	if err != nil {
		return nil, err
	}
	return dbtx.QueryColumn[int64](ctx, s.store.DB(), `SELECT DISTINCT i.profile_id FROM identities i
JOIN (SELECT unnest(from_json(?::VARCHAR, '[{"k":"VARCHAR","v":"VARCHAR"}]'), recursive := true)) x ON i.kind = x.k AND i.value = x.v
ORDER BY 1`, string(b))
}
