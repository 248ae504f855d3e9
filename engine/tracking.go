package engine

import (
	"context"
	"database/sql"
	_ "embed" // tracking.sql
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed tracking.sql
var trackingSQL string

// PurposeAnalytics is the built-in purpose behavioural tracking needs.
const PurposeAnalytics = "analytics"

// Reasons a behavioural event is not stored (ImportResult.EventsDropped,
// EventDrops).
const (
	DropRestricted         = "restricted"
	DropObjected           = "objected"
	DropAnalyticsWithdrawn = "analytics_withdrawn"
)

// exemptEventSQL matches events that are not behaviour but facts about
// consent, identity, rights or an address, which are stored whatever the
// person's analytics choice: unsubscribes, complaints, bounces, invalid
// push tokens, and events named consent_*, identity_* or privacy_*.
const exemptEventSQL = `(suffix(s.event, '_unsubscribed') OR suffix(s.event, '_complained') OR suffix(s.event, '_bounced')
 OR suffix(s.event, '_token_invalid') OR prefix(s.event, 'consent_') OR prefix(s.event, 'identity_') OR prefix(s.event, 'privacy_'))`

// dropUntracked removes from the staged events (_ev) the behavioural ones
// of people who may not be tracked at now: restricted, objected, or whose
// analytics decision on some channel is a matching entry that does not
// grant (a withdrawal, a denial, a withdraw-all, an expiry). Events are
// attached to people through identities.
func (s *Store) dropUntracked(w *writer, source string, now time.Time) (map[string]int, error) {
	return s.dropUntrackedBy(w, "identities", source, now)
}

// dropUntrackedBy is dropUntracked with the owners of the staged
// identifiers read from owners (kind, value, profile_id): HTTP ingestion
// passes the owners it already looked up. The decision is consent.GrantSQL's
// over the ledger's relation narrowed to the batch's people (the grant is
// decided per person, so narrowing changes no one's decision), set-based;
// people with no analytics entry at all are tracked. Drops are counted by
// reason in event_drops and returned.
func (s *Store) dropUntrackedBy(w *writer, owners, source string, now time.Time) (map[string]int, error) {
	q, args, err := s.trackingDropsSQL(w, owners, now)
	if err != nil {
		return nil, fmt.Errorf("events without permission to track: %w", err)
	}
	if _, err := w.exec(q, args...); err != nil {
		return nil, fmt.Errorf("events without permission to track: %w", err)
	}
	w.temps = append(w.temps, "_evdrop")
	rows, err := w.query(`SELECT reason, count(*) FROM _evdrop GROUP BY reason`)
	counts, err := reasonCounts(rows, err)
	if err != nil || len(counts) == 0 {
		return nil, err
	}
	out := make(map[string]int, len(counts))
	for r, n := range counts {
		out[r] = int(n)
	}
	if _, err := w.exec(`DELETE FROM _ev WHERE _row IN (SELECT _row FROM _evdrop)`); err != nil {
		return nil, err
	}
	if _, err := w.exec(`INSERT INTO event_drops SELECT ?::TIMESTAMP, reason, count(*), ? FROM _evdrop GROUP BY reason`, now, source); err != nil {
		return nil, err
	}
	s.log.Info("events not stored: no permission to track", "by_reason", out)
	return out, nil
}

// trackingDropsSQL stages the people of the batch's behavioural events
// (_evpeople) and their consent entries (_evconsent), and returns the
// statement that writes _evdrop. Only people are staged, never a row per
// event: a file import's batch may hold millions of events.
func (s *Store) trackingDropsSQL(w *writer, owners string, now time.Time) (string, []any, error) {
	if _, err := w.exec(fmt.Sprintf(trackingQuery("tracking-people"), owners, exemptEventSQL)); err != nil {
		return "", nil, err
	}
	w.temps = append(w.temps, "_evpeople")
	relation, err := s.consentRelation(w.ctx, now)
	if err != nil {
		return "", nil, err
	}
	if _, err := w.exec(fmt.Sprintf(trackingQuery("tracking-entries"), relation)); err != nil {
		return "", nil, err
	}
	w.temps = append(w.temps, "_evconsent")
	// Every channel's analytics decision in one query: one plan, where a
	// query per channel cost a plan each on every ingestion commit.
	grants, args, err := consent.GrantsByChannelSQL(s.policy, "_evconsent", PurposeAnalytics, consent.Channels(), now.UTC())
	if err != nil {
		return "", nil, err
	}
	withdrawn := "SELECT DISTINCT profile_id FROM (" + grants + ") WHERE NOT granted"
	return fmt.Sprintf(trackingQuery("tracking-drops"), DropRestricted, DropObjected, DropAnalyticsWithdrawn, withdrawn,
		owners, exemptEventSQL), args, nil
}

// trackingQuery is the named block of tracking.sql.
func trackingQuery(name string) string {
	blocks, err := sqlblock.Parse(trackingSQL)
	q, ok := blocks[name]
	if err != nil || !ok {
		panic("engine: no sql block named " + name + " in tracking.sql") // a programming error, caught by tests
	}
	return q
}

// EventDrops totals, by reason, the behavioural events not stored because
// the person had withdrawn analytics, objected or was restricted.
func (s *Store) EventDrops(ctx context.Context) (map[string]int64, error) {
	return reasonCounts(s.db.QueryContext(ctx, `SELECT reason, sum(events)::BIGINT FROM event_drops GROUP BY reason`))
}

// reasonCounts reads (reason, count) rows into a map.
func reasonCounts(rows *sql.Rows, err error) (map[string]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, err
		}
		out[reason] = n
	}
	return out, rows.Err()
}
