package engine

import (
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/eligibility"
)

// applyErasures runs inside every ledger append (appendLedger), after the
// new entries (seq > afterSeq) are in. For each profile those entries
// concern that holds an identifier of an erased person (erasure_hashes), it
//
//  1. appends, once per erasure, a withdrawal of every purpose on every
//     channel effective at the erasure instant (source "erasure"), so that
//     consent history dated before the erasure, imported again, never
//     decides "granted" again: consent.Evaluate and consent.GrantSQL pick
//     the latest effective entry, and that is the withdrawal;
//  2. lifts the "erased" suppression of the profile's addresses on each
//     channel that a new grant effective after the erasure covers (the
//     channel's eligibility.AddressKind; * → all of them), so a fresh
//     grant makes the person reachable again.
//
// Both steps are audited. Returns the number of withdrawal entries added.
func (s *Store) applyErasures(w *writer, afterSeq int64, now time.Time) (int, error) {
	var erased int
	if err := w.queryRow(`SELECT count(*) FROM erasure_hashes`).Scan(&erased); err != nil || erased == 0 {
		return 0, err
	}
	if _, err := w.exec(`CREATE OR REPLACE TEMP TABLE _erm AS
SELECT i.profile_id, max(e.erased_at) AS erased_at, arg_max(e.erasure_id, e.erased_at) AS erasure_id
FROM identities i JOIN erasure_hashes e ON e.kind = i.kind AND e.addr_hash = i.value_hash
WHERE i.profile_id IN (SELECT profile_id FROM consent_ledger WHERE seq > ?)
GROUP BY i.profile_id`, afterSeq); err != nil {
		return 0, fmt.Errorf("match erased identifiers: %w", err)
	}
	w.temps = append(w.temps, "_erm")
	var matched int
	if err := w.queryRow(`SELECT count(*) FROM _erm`).Scan(&matched); err != nil || matched == 0 {
		return 0, err
	}
	if _, err := w.exec(`CREATE OR REPLACE TEMP TABLE _erw AS
SELECT row_number() OVER (ORDER BY profile_id) AS _row, profile_id, '*' AS purpose, '*' AS channel, 'withdrawn' AS status,
       erased_at AS effective_at, NULL::TIMESTAMP AS expires_at, NULL::VARCHAR AS notice_version,
       'erasure' AS source, 'system' AS actor, 'erasure:' || erasure_id || ':' || profile_id AS entry_key
FROM _erm`); err != nil {
		return 0, err
	}
	w.temps = append(w.temps, "_erw")
	var before, after int
	var beforeSeq int64
	if err := w.queryRow(`SELECT count(*), coalesce(max(seq), 0) FROM consent_ledger`).Scan(&before, &beforeSeq); err != nil {
		return 0, err
	}
	if _, err := w.exec(fmt.Sprintf(s.query("append-ledger"), "_erw"), now); err != nil {
		return 0, fmt.Errorf("append erasure withdrawals: %w", err)
	}
	if err := w.queryRow(`SELECT count(*) FROM consent_ledger`).Scan(&after); err != nil {
		return 0, err
	}
	r, err := w.exec(`DELETE FROM suppressions WHERE reason = 'erased' AND addr_hash IN (
  SELECT i.value_hash
  FROM _erm m
  JOIN identities i ON i.profile_id = m.profile_id
  JOIN consent_ledger l ON l.profile_id = m.profile_id
  WHERE l.seq > ? AND l.status = 'granted' AND l.effective_at > m.erased_at
    AND (l.channel = '*' OR `+eligibility.ChannelKindSQL("l.channel", "i.kind")+`))`, afterSeq)
	if err != nil {
		return 0, fmt.Errorf("lift erased suppressions: %w", err)
	}
	lifted, _ := r.RowsAffected()
	rows, err := w.query(`SELECT m.profile_id, m.erasure_id FROM _erm m
WHERE m.profile_id IN (SELECT profile_id FROM consent_ledger WHERE seq > ? AND source = 'erasure')
ORDER BY m.profile_id`, beforeSeq)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	type match struct{ profile, erasure int64 }
	var ms []match
	for rows.Next() {
		var m match
		if err := rows.Scan(&m.profile, &m.erasure); err != nil {
			return 0, err
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	if len(ms) > 0 {
		for _, m := range ms {
			if err := s.audit(w, "system", AuditErasureWithdrawal, profileSubject(m.profile), map[string]any{"erasure_request_id": m.erasure}); err != nil {
				return 0, err
			}
		}
		s.log.Info("identifiers of erased people seen again; old consent withdrawn", "profiles", len(ms))
	}
	if lifted > 0 {
		if err := s.audit(w, "system", AuditSuppressionLifted, "suppressions", map[string]any{"lifted": lifted, "reason": "grant after erasure"}); err != nil {
			return 0, err
		}
	}
	return after - before, nil
}
