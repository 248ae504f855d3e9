package journeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Erasure removes a person's outbox rows, not the copies of them already
// read: a page in hand, a page read ahead, a send waiting in a cluster's
// stream. The gate refuses those (ReasonUnreachable): prepare checks that
// the people of a batch's sends created before the latest erasure still
// exist, and Check, when an erasure was committed since the batch's
// prepare, checks the one person before the provider call.

// lastErasure reads the latest erasure's instant (zero: none).
func (g *cachedGate) lastErasure(ctx context.Context) (time.Time, error) {
	var t sql.NullTime
	err := g.r.db.QueryRowContext(ctx, q("gate_last_erasure")).Scan(&t)
	return t.Time, err
}

// checkErased marks gone the people of batch whose sends were created
// before the latest erasure and who no longer exist.
func (g *cachedGate) checkErased(ctx context.Context, batch []outRow) error {
	g.mu.Lock()
	erasedAt := g.erasedAt
	g.mu.Unlock()
	var ids []int64
	if !erasedAt.IsZero() {
		for _, o := range batch {
			if !o.createdAt.After(erasedAt) {
				ids = append(ids, o.msg.ProfileID)
			}
		}
	}
	exists := map[int64]bool{}
	if len(ids) > 0 {
		if err := eachRow(ctx, g.r.db, fmt.Sprintf(q("gate_existing"), intList(ids)), nil, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			exists[id] = true
			return nil
		}); err != nil {
			return err
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		if !exists[id] {
			g.gone[id] = true
		}
	}
	g.preparedErasure = erasedAt
	return nil
}

// erased says whether the person of a send checked now was erased: known
// gone, or gone since an erasure committed after the batch's prepare.
func (g *cachedGate) erased(ctx context.Context, id int64) (bool, error) {
	g.mu.Lock()
	gone, recheck := g.gone[id], !g.erasedAt.Equal(g.preparedErasure)
	g.mu.Unlock()
	if gone || !recheck {
		return gone, nil
	}
	var found int64
	if err := g.r.db.QueryRowContext(ctx, fmt.Sprintf(q("gate_existing"), intList([]int64{id}))).Scan(&found); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			g.mu.Lock()
			g.gone[id] = true
			g.mu.Unlock()
			return true, nil
		}
		return false, err
	}
	return false, nil
}
