package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"time"

	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/internal/dbtx"
)

// upsertProfiles resolves the identities of staged rows and writes the
// outcome (see upsertStaged); records are the rows' identifiers, in stage
// order, for their lines.
func (s *Store) upsertProfiles(w *writer, stage string, traits []Trait, records []idRecord, label string, res *ImportResult) error {
	return s.upsertStaged(w, stage, traits, len(records), func(row int) int { return records[row].line }, label, res)
}

// upsertStaged resolves the identities of n staged rows and writes the
// outcome: new profiles, merges, new identities, the merge log and the
// profile rows themselves, all set-based inside w's transaction.
//
// stage holds one row per input row (_row = 0…n-1, lineOf gives its input
// line) with the columns of stageColumns (_ord, one per identity kind,
// timezone) and the given traits. _ord is the row's recency; NULL means the
// row only fills values that are missing.
func (s *Store) upsertStaged(w *writer, stage string, traits []Trait, n int, lineOf func(int) int, label string, res *ImportResult) error {
	records, held, err := s.stageKeys(w, stage, n)
	if err != nil {
		return err
	}
	var next int64
	if err := w.queryRow(`SELECT coalesce(max(value::BIGINT), 0) FROM meta WHERE key = 'next_profile_id'`).Scan(&next); err != nil {
		return err
	}
	if next == 0 {
		next = 1
	}
	r := resolveKeys(records, held, next)
	if isExistingOnly(w.ctx) {
		if err := refuseNewProfiles(label, &r, next, lineOf); err != nil {
			return err
		}
	}
	now := s.now()
	if err := w.temp("_map", "_row BIGINT, profile_id BIGINT, keep_email BOOLEAN, keep_phone BOOLEAN, _line BIGINT"); err != nil {
		return err
	}
	email, phone := kindIndex(KindEmail), kindIndex(KindPhone)
	if err := dbtx.AppendN(w.conn, "_map", n, func(i int) []driver.Value {
		return []driver.Value{int64(i), r.recordProfile[i], !r.isRefused(i, email), !r.isRefused(i, phone), int64(lineOf(i))}
	}); err != nil {
		return err
	}
	staged, err := s.stageNewKeys(w)
	if err != nil {
		return err
	}
	if staged != r.newKeys {
		return &identityWriteMismatch{resolved: r.newKeys, staged: staged}
	}
	untrusted := isUntrusted(w.ctx)
	var hashes []string
	if untrusted {
		if r.newIdentities, hashes, err = newIdentitiesOf(w); err != nil {
			return err
		}
		if err := s.checkTrust(w, r, label); err != nil {
			return err
		}
	}
	next += int64(len(r.newProfiles))
	if _, err := w.exec(`DELETE FROM meta WHERE key = 'next_profile_id'`); err != nil {
		return err
	}
	if _, err := w.exec(`INSERT INTO meta VALUES ('next_profile_id', ?)`, fmt.Sprint(next)); err != nil {
		return err
	}

	if err := w.temp("_merge", "loser BIGINT, survivor BIGINT"); err != nil {
		return err
	}
	merges := make([][]driver.Value, 0, len(r.merges))
	for loser, survivor := range r.merges {
		merges = append(merges, []driver.Value{loser, survivor})
	}
	if err := w.appendSlice("_merge", merges); err != nil {
		return err
	}
	if len(merges) > 0 {
		for _, t := range profileTables {
			if _, err := w.exec(fmt.Sprintf(`UPDATE %s SET profile_id = m.survivor FROM _merge m WHERE %s.profile_id = m.loser`, t, t)); err != nil {
				return fmt.Errorf("merge %s: %w", t, err)
			}
		}
	}
	if _, err := w.exec(s.query("insert-new-identities"), label, now); err != nil {
		return fmt.Errorf("identity write: %w", err)
	}
	if _, err := w.exec(`DROP TABLE _newkeys; DROP TABLE _khash`); err != nil {
		return err
	}
	if err := s.noteClientIdentities(w, "_keys", hashes, now); err != nil {
		return err
	}
	if err := s.writeMergeLog(w, r.log, lineOf, label, now, res); err != nil {
		return err
	}
	if err := s.writeProfileRows(w, stage, traits, now, res); err != nil {
		return err
	}
	if len(merges) > 0 {
		if err := s.rebuildConsentState(w, `SELECT survivor FROM _merge UNION SELECT loser FROM _merge`); err != nil {
			return err
		}
	}
	res.ProfilesCreated += len(r.newProfiles)
	res.ProfilesMerged += len(r.merges)
	res.IdentitiesAdded += r.newKeys
	return nil
}

// identityWriteMismatch reports that the set-based identity write and the
// resolution disagree on how many identifiers are new: a bug, never input.
type identityWriteMismatch struct{ resolved, staged int }

func (e *identityWriteMismatch) Error() string {
	return fmt.Sprintf("identity write: resolution found %d new identifiers, the stage %d", e.resolved, e.staged)
}

// newIdentitiesOf reads the new identities of an untrusted write (a small
// batch): the trust check's input and the hashes to note.
func newIdentitiesOf(w *writer) ([]resolvedIdentity, []string, error) {
	rows, err := w.query(`SELECT f.kind, f.value, m._line, m.profile_id, lower(hex(h.value_hash))
FROM _newkeys JOIN _keys f USING (kid) JOIN _khash h USING (kid) JOIN _map m ON m._row = f.first_row ORDER BY f.first_row, f.k`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []resolvedIdentity
	var hashes []string
	for rows.Next() {
		var id resolvedIdentity
		var hash string
		if err := rows.Scan(&id.kind, &id.value, &id.line, &id.profileID, &hash); err != nil {
			return nil, nil, err
		}
		ids, hashes = append(ids, id), append(hashes, hash)
	}
	return ids, hashes, rows.Err()
}

// writeMergeLog appends the merges and refused links, one row per distinct
// merge or refusal, so that the same input imported again adds nothing.
func (s *Store) writeMergeLog(w *writer, log []keyLog, lineOf func(int) int, label string, now time.Time, res *ImportResult) error {
	if err := w.temp("_mlog", "at TIMESTAMP, action VARCHAR, profile_id BIGINT, other_id BIGINT, identifier_kind VARCHAR, identifier_hash VARCHAR, source VARCHAR, reason VARCHAR"); err != nil {
		return err
	}
	if len(log) == 0 {
		return nil
	}
	values, err := keyValues(w, log)
	if err != nil {
		return err
	}
	kinds := IdentityKinds()
	rows := make([][]driver.Value, len(log))
	for j, l := range log {
		reason := "shared identifier"
		if l.action == "conflict" {
			reason = "would give one profile two user_ids"
			res.LinksRefused++
			s.log.Info("identity link refused", "kept_by", l.profileID, "refused_for", l.otherID, "identifier_kind", kinds[l.kind])
		}
		rows[j] = []driver.Value{now, l.action, l.profileID, l.otherID, kinds[l.kind], s.HashIdentifier(kinds[l.kind], values[l.key]), fmt.Sprintf("%s:%d", label, lineOf(l.row)), reason}
	}
	if err := w.appendSlice("_mlog", rows); err != nil {
		return err
	}
	_, err = w.exec(s.query("append-merge-log"))
	return err
}

// keyValues reads the identifiers the merge log names, by key id.
func keyValues(w *writer, log []keyLog) (map[int32]string, error) {
	if err := w.temp("_logkeys", "kid INTEGER"); err != nil {
		return nil, err
	}
	ids := make([][]driver.Value, len(log))
	for j, l := range log {
		ids[j] = []driver.Value{l.key}
	}
	if err := w.appendSlice("_logkeys", ids); err != nil {
		return nil, err
	}
	rows, err := w.query(`SELECT kid, value FROM _keys WHERE kid IN (SELECT kid FROM _logkeys)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int32]string{}
	for rows.Next() {
		var kid int32
		var v string
		if err := rows.Scan(&kid, &v); err != nil {
			return nil, err
		}
		out[kid] = v
	}
	return out, rows.Err()
}

// traitsOf reads the trait catalog inside a write.
func traitsOf(w *writer) ([]Trait, error) { return readTraits(w.ctx, w.conn) }

// RebuildConsentState recomputes the whole current-state table from the
// ledger, for tools that write the ledger with SQL of their own (benchmark
// generators).
func (s *Store) RebuildConsentState(ctx context.Context) error {
	return s.write(ctx, func(w *writer) error {
		return s.rebuildConsentState(w, allConsentProfiles)
	})
}

// allConsentProfiles selects every profile with a ledger entry.
const allConsentProfiles = `SELECT DISTINCT profile_id FROM consent_ledger`

// consentRebuildRows is about how many ledger entries one rebuild of the
// current state reads at a time. Its windows hold their rows outside
// DuckDB's memory_limit: rebuilding a 5.3M-entry ledger at once took the
// process some 700 MB over the limit.
const consentRebuildRows = 1_000_000

// rebuildConsentState recomputes the current-state rows of the profiles the
// subquery selects from their ledger (see the rebuild-consent-state block),
// a range of profile ids holding about consentRebuildRows entries at a
// time.
func (s *Store) rebuildConsentState(w *writer, profiles string) error {
	return s.rebuildConsentStateBy(w, profiles, consentRebuildRows)
}

// rebuildConsentStateBy is rebuildConsentState with ranges of about rows
// entries. The state of a profile depends on its own entries alone, so
// rebuilding by ranges of profiles gives the same rows as all at once.
func (s *Store) rebuildConsentStateBy(w *writer, profiles string, rows int) error {
	if _, err := w.exec(fmt.Sprintf(`DELETE FROM consent_state WHERE profile_id IN (%s)`, profiles)); err != nil {
		return err
	}
	bounds, err := dbtx.QueryColumn[int64](w.ctx, w.conn, fmt.Sprintf(s.query("consent-rebuild-ranges"), profiles, rows))
	if err != nil {
		return fmt.Errorf("consent state ranges: %w", err)
	}
	if len(bounds) <= 1 {
		_, err := w.exec(fmt.Sprintf(s.query("rebuild-consent-state"), profiles, consent.Precedence))
		return err
	}
	lo := int64(math.MinInt64)
	for _, hi := range bounds {
		part := fmt.Sprintf(`SELECT p FROM (%s) AS t(p) WHERE p > %d AND p <= %d`, profiles, lo, hi)
		if _, err := w.exec(fmt.Sprintf(s.query("rebuild-consent-state"), part, consent.Precedence)); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}
