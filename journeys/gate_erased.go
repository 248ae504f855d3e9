package journeys

import (
	"context"
	"database/sql"
	"time"
)

// Erasure removes a person's outbox rows, not the copies of them already
// read: a page in hand, a page read ahead, a send waiting in a cluster's
// stream. Such a person is in no changed set (their ledger rows and
// identities are gone with them), so the gate treats the people of sends
// created before the latest erasure as changed: prepare re-decides them
// set-based, and Check, when an erasure was committed after the batch's
// prepare, decides the person one by one. Either way the one eligibility
// decision finds no profile and answers unreachable.

// lastErasure reads the latest erasure's instant (zero: none).
func (g *cachedGate) lastErasure(ctx context.Context) (time.Time, error) {
	var t sql.NullTime
	err := g.r.db.QueryRowContext(ctx, q("gate_last_erasure")).Scan(&t)
	return t.Time, err
}

// markReadBeforeErasure marks changed the people of batch whose sends were
// created at or before the latest erasure, so that prepare re-decides them.
func (g *cachedGate) markReadBeforeErasure(batch []outRow) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.preparedErasure = g.erasedAt
	if g.erasedAt.IsZero() {
		return
	}
	for _, o := range batch {
		if !o.createdAt.After(g.erasedAt) {
			g.changed[o.msg.ProfileID] = true
			delete(g.decided, o.msg.ProfileID)
		}
	}
}

// erasedSincePrepare says an erasure was committed after the last prepare
// (as of the last read): the batch's decisions may name someone erased.
func (g *cachedGate) erasedSincePrepare() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.erasedAt.Equal(g.preparedErasure)
}
