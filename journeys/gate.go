package journeys

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine/eligibility"
)

// cachedGate is the consent gate of the runner's sends. Each batch's
// people were decided set-based (consent, flags, suppression) when their
// outbox rows were written. Right before a batch's provider calls, prepare
// reads who had a consent entry appended (by ledger seq) or taking effect
// or expiring, a profile change (restricted, objected) or a new suppression
// since then, and re-decides exactly those people set-based through
// engine/consent's SQL form; anyone whose consent, flags or suppressions
// change after that is re-decided one by one through engine/consent
// (bridge.Adapter.Check) when the adapter calls Check right before their
// provider call. Everyone else's decision is still current by
// construction. Check re-reads whenever the store's write epoch moved or
// the clock reached the next consent transition (an entry taking effect or
// expiring), so nothing committed or due before a provider call is missed.
// Reads after the first are incremental: ledger entries by seq (exact),
// profiles and suppressions by timestamp with an overlap window (a change
// is new when its timestamp is later than the last one seen for that
// person).
type cachedGate struct {
	r       *Runner
	mu      sync.Mutex
	since   time.Time
	seq     int64
	readNow time.Time
	valid   bool
	epoch   uint64    // the store's WriteEpoch when the last read began
	next    time.Time // next consent transition after the last read; zero: none
	changed map[int64]bool
	seenTS  map[int64]time.Time
	// decided holds set-based re-decisions by person and purpose ("" =
	// allowed); a new change to a person deletes theirs.
	decided map[int64]map[string]string
	// erasedAt is the latest erasure as of the last read, preparedErasure
	// as of the last prepare (gate_erased.go).
	erasedAt, preparedErasure time.Time
}

// gateOverlap re-reads time-stamped changes this far back, covering
// writes whose timestamp was taken before a read they committed after.
const gateOverlap = 5 * time.Second

func newCachedGate(r *Runner) *cachedGate { return &cachedGate{r: r} }

func (g *cachedGate) refresh(ctx context.Context, since time.Time) error {
	// Read the epoch first: a write committed after this point bumps it
	// again, so the next Check re-reads.
	epoch := g.r.store.WriteEpoch()
	now := g.r.now()
	var seq int64
	if err := g.r.db.QueryRowContext(ctx, q("ledger_seq")).Scan(&seq); err != nil {
		return err
	}
	var next sql.NullTime
	if err := g.r.db.QueryRowContext(ctx, q("gate_next_transition"), now, now).Scan(&next); err != nil {
		return err
	}
	erasedAt, err := g.lastErasure(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	full := !g.valid || !since.Equal(g.since)
	prevSeq, prevNow := g.seq, g.readNow
	g.mu.Unlock()
	var args []any
	if full {
		args = []any{int64(1 << 62), since.Add(-gateOverlap), since, now, since, now, since.Add(-gateOverlap), since.Add(-gateOverlap)}
	} else {
		args = []any{prevSeq, farFuture, prevNow, now, prevNow, now, prevNow.Add(-gateOverlap), prevNow.Add(-gateOverlap)}
	}
	rows, err := g.r.db.QueryContext(ctx, q("gate_changed"), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type change struct {
		id  int64
		src string
		ts  time.Time
	}
	var found []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.src, &c.ts); err != nil {
			return err
		}
		found = append(found, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if full {
		g.changed, g.seenTS, g.decided = map[int64]bool{}, map[int64]time.Time{}, map[int64]map[string]string{}
	}
	for _, c := range found {
		isNew := full || c.src == "ledger"
		if c.src != "ledger" {
			if c.ts.After(g.seenTS[c.id]) {
				g.seenTS[c.id] = c.ts
				isNew = true
			}
		}
		if isNew {
			g.changed[c.id] = true
			if !full {
				delete(g.decided, c.id)
			}
		}
	}
	g.since, g.seq, g.readNow, g.valid, g.epoch, g.next = since, seq, now, true, epoch, next.Time
	g.erasedAt = erasedAt
	return nil
}

// prepare refreshes the changed set and re-decides, set-based, the people
// of a batch in it (by purpose), so that per-message checks are map
// look-ups unless something changes after this instant.
func (g *cachedGate) prepare(ctx context.Context, channel string, since time.Time, batch []outRow) error {
	if !g.current(since) {
		if err := g.refresh(ctx, since); err != nil {
			return err
		}
	}
	g.markReadBeforeErasure(batch)
	now := g.r.now()
	byPurpose := map[string][]int64{}
	g.mu.Lock()
	for _, o := range batch {
		if g.changed[o.msg.ProfileID] {
			p := purposeOf(o.msg)
			byPurpose[p] = append(byPurpose[p], o.msg.ProfileID)
		}
	}
	seqAt := g.seq
	g.mu.Unlock()
	decided := map[int64]map[string]string{}
	set := func(id int64, purpose, reason string) {
		if decided[id] == nil {
			decided[id] = map[string]string{}
		}
		decided[id][purpose] = reason
	}
	for purpose, ids := range byPurpose {
		elig, args, err := g.r.store.EligibilitySQL(ctx, eligibility.Request{Purpose: purpose, Channel: channel, At: now}, "people")
		if err != nil {
			return err
		}
		found := map[int64]bool{}
		if err := eachRow(ctx, g.r.db, fmt.Sprintf(q("gate_decide"), elig, intList(ids)), args, func(rows *sql.Rows) error {
			var id int64
			var reason sql.NullString
			if err := rows.Scan(&id, &reason); err != nil {
				return err
			}
			found[id] = true
			set(id, purpose, reason.String)
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			if !found[id] {
				set(id, purpose, ReasonUnreachable) // erased since
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seq != seqAt {
		return nil // something changed meanwhile: fall back to one-by-one checks
	}
	for id, m := range decided {
		if g.decided[id] == nil {
			g.decided[id] = map[string]string{}
		}
		for p, reason := range m {
			g.decided[id][p] = reason
		}
	}
	return nil
}

// current says the last read still holds for a batch created since: same
// window, nothing committed through the store since (the write epoch, as
// Check uses it) and no consent transition due yet. Re-reading then would
// find nothing new, at three queries per batch.
func (g *cachedGate) current(since time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.valid && since.Equal(g.since) && g.r.store.WriteEpoch() == g.epoch && (g.next.IsZero() || g.r.now().Before(g.next))
}

func purposeOf(m channels.Message) string {
	if !m.Marketing() {
		return PurposeTransactional
	}
	return m.Purpose
}

// Check implements channels.Gate.
func (g *cachedGate) Check(ctx context.Context, channel string, m channels.Message) (string, error) {
	// Anything committed since the last read (a withdrawal, a flag, a
	// suppression) moves the store's write epoch, and a grant expiring or
	// an entry taking effect happens at a known instant: re-read before
	// deciding in either case, so no such change is missed.
	g.mu.Lock()
	valid, since := g.valid, g.since
	stale := g.r.store.WriteEpoch() != g.epoch || (!g.next.IsZero() && !g.r.now().Before(g.next))
	g.mu.Unlock()
	if !valid {
		return g.r.adapter.Check(ctx, channel, m)
	}
	if stale {
		if err := g.refresh(ctx, since); err != nil {
			return "", err
		}
	}
	if g.erasedSincePrepare() {
		return g.r.adapter.Check(ctx, channel, m)
	}
	g.mu.Lock()
	changed := g.changed[m.ProfileID]
	reason, ok := g.decided[m.ProfileID][purposeOf(m)]
	g.mu.Unlock()
	if !changed {
		return "", nil
	}
	if ok {
		return reason, nil
	}
	return g.r.adapter.Check(ctx, channel, m)
}
