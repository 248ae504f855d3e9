package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tactcdp/tact/engine/eligibility"
)

// ErasureResult says what an erasure removed and kept. It holds no
// personal data.
type ErasureResult struct {
	Request Request `json:"request"`
	// Deleted counts the rows removed per table, profiles included.
	Deleted map[string]int64 `json:"deleted"`
	// Unlinked counts rows kept but cut loose from the person (their
	// earlier privacy requests).
	Unlinked map[string]int64 `json:"unlinked"`
	// SuppressionsAdded counts new keyed-hash suppressions (reason erased)
	// of the person's email addresses, phone numbers and device tokens.
	SuppressionsAdded int64 `json:"suppressions_added"`
	// Tombstones counts de-identified consent entries kept.
	Tombstones int64 `json:"tombstones"`
	// Compacted says the database file was rewritten, so the erased data no
	// longer sits in freed blocks.
	Compacted bool `json:"compacted"`
}

// EraseOptions configure Erase.
type EraseOptions struct {
	PrivacyOptions
	// NoCompact skips rewriting the database file after the erasure, for
	// callers that erase many people and then call Compact once. Until
	// Compact runs, the erased data may remain in freed blocks of the file.
	NoCompact bool
	// Progress, if set, receives the database rewrite's progress (see
	// WithCompactProgress). Default nil: no reports.
	Progress func(CompactProgress)
}

// retainedTables hold a profile_id that erasure sets to NULL instead of
// deleting the row: the record that a request was made and honoured.
var retainedTables = map[string]bool{"privacy_requests": true} //nolint:gochecknoglobals // read-only after initialisation

// Erase removes everything held about the person user identifies.
//
// In one transaction it deletes their rows from every table with a
// profile_id column — the tables of ProfileTables and any other the schema
// holds (found in information_schema, so tables later migrations add, such
// as segment memberships, journey state and the outbox, are covered) — plus
// consent_state, the merge-log rows naming them and their profiles row,
// and unlinks their earlier privacy requests (profile_id set to NULL). A
// table with any other column that mentions a profile (say
// "survivor_profile_id") makes the erasure fail, changing nothing: the
// engine will not guess what such a column means (fail closed).
//
// It keeps only:
//   - keyed-hash suppressions (reason "erased") of their email addresses,
//     phones and device tokens, and keyed hashes of all their identifiers in
//     erasure_hashes. When an import or consent change later brings one of
//     those identifiers back, the ledger gets a withdrawal of every purpose
//     on every channel effective at the erasure instant, so old consent
//     history (dated before the erasure) cannot make the person marketable
//     again; a grant effective after the erasure outranks it and lifts the
//     erased suppression of the addresses on the granted channel.
//   - de-identified consent tombstones (consent_tombstones): purpose,
//     channel, status, effective/recorded/expiry times, notice version and
//     source of each ledger entry, with no profile, actor or identifier,
//     plus a final "*"/"*" withdrawal at the erasure instant; they are keyed
//     by the erasure's request id, proving that consent existed and was
//     withdrawn.
//   - the erase request itself (kind, times, outcome) and the audit entry.
//
// Then, for a database file, it runs Compact so the erased values do not
// survive in freed blocks of the file or its WAL (unless opts.NoCompact).
func (s *Store) Erase(ctx context.Context, user string, opts EraseOptions) (ErasureResult, error) {
	res := ErasureResult{Deleted: map[string]int64{}, Unlinked: map[string]int64{}}
	actor := orStr(opts.Actor, "operator")
	var profileID int64
	err := s.write(ctx, func(w *writer) error {
		id, err := s.resolveIn(w, user)
		if err != nil {
			return err
		}
		profileID = id
		tables, err := s.profileColumnTables(w)
		if err != nil {
			return err
		}
		if err := checkErasureTables(tables); err != nil {
			return err
		}
		if err := s.runErasureHook(w, id); err != nil {
			return err
		}
		req, err := s.beginRequest(w, RequestErase, id, opts.PrivacyOptions)
		if err != nil {
			return err
		}
		now := s.now()
		var kinds []string
		if err := w.queryRow(`SELECT coalesce(list(DISTINCT kind ORDER BY kind), []) FROM identities WHERE profile_id = ?`, id).Scan(newStringList(&kinds)); err != nil {
			return err
		}
		if _, err := w.exec(`INSERT INTO erasure_hashes SELECT DISTINCT ?::BIGINT, kind, value_hash, ?::TIMESTAMP FROM identities WHERE profile_id = ?`, req.ID, now, id); err != nil {
			return fmt.Errorf("erasure hashes: %w", err)
		}
		addrKinds := eligibility.AddressKinds()
		args := []any{now, id}
		for _, k := range addrKinds {
			args = append(args, k)
		}
		r, err := w.exec(`INSERT INTO suppressions
SELECT DISTINCT value_hash, kind, 'erased', 'erasure', ?::TIMESTAMP FROM identities
WHERE profile_id = ? AND kind IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(addrKinds)), ", ")+`)
  AND value_hash NOT IN (SELECT addr_hash FROM suppressions)`, args...)
		if err != nil {
			return fmt.Errorf("suppress erased addresses: %w", err)
		}
		res.SuppressionsAdded, _ = r.RowsAffected()
		r, err = w.exec(`INSERT INTO consent_tombstones
SELECT ?::BIGINT, purpose, channel, status, effective_at, recorded_at, expires_at, notice_version, source
FROM consent_ledger WHERE profile_id = ? ORDER BY seq`, req.ID, id)
		if err != nil {
			return fmt.Errorf("consent tombstones: %w", err)
		}
		n, _ := r.RowsAffected()
		if _, err := w.exec(`INSERT INTO consent_tombstones VALUES (?, '*', '*', 'withdrawn', ?, ?, NULL, NULL, 'erasure')`, req.ID, now, now); err != nil {
			return err
		}
		res.Tombstones = n + 1
		if _, err := w.exec(`DELETE FROM consent_state WHERE profile_id = ?`, id); err != nil {
			return err
		}
		for _, t := range tables {
			if !t.hasProfileID || t.name == "consent_state" {
				continue
			}
			q := fmt.Sprintf(`DELETE FROM %s WHERE profile_id = ?`, quoteIdent(t.name))
			args := []any{id}
			switch {
			case retainedTables[t.name]:
				q = fmt.Sprintf(`UPDATE %s SET profile_id = NULL WHERE profile_id = ?`, quoteIdent(t.name))
			case t.name == "merges":
				q += ` OR other_id = ?`
				args = append(args, id)
			}
			r, err := w.exec(q, args...)
			if err != nil {
				return fmt.Errorf("erase from %s: %w", t.name, err)
			}
			n, _ := r.RowsAffected()
			if retainedTables[t.name] {
				res.Unlinked[t.name] = n
			} else {
				res.Deleted[t.name] = n
			}
		}
		r, err = w.exec(`DELETE FROM profiles WHERE id = ?`, id)
		if err != nil {
			return err
		}
		res.Deleted["profiles"], _ = r.RowsAffected()
		req.ProfileID = 0
		if err := s.completeRequest(w, &req, "erased"); err != nil {
			return err
		}
		res.Request = req
		return s.audit(w, actor, AuditPrivacyErase, profileSubject(id), map[string]any{
			"request_id": req.ID, "deleted": res.Deleted, "unlinked": res.Unlinked, "identifier_kinds": kinds,
			"suppressions_added": res.SuppressionsAdded, "tombstones": res.Tombstones,
		})
	})
	if err != nil {
		return ErasureResult{}, err
	}
	s.log.Info("profile erased", "request_id", res.Request.ID, "profile", profileID)
	if !opts.NoCompact && s.path != MemoryPath {
		if err := s.Compact(ctx, WithCompactProgress(opts.Progress)); err != nil {
			return res, fmt.Errorf("erased, but rewriting the database file failed (run tact privacy compact): %w", err)
		}
		res.Compacted = true
	}
	return res, nil
}

// checkErasureTables fails closed on a schema erasure does not understand:
// a table whose column mentions a profile without being profile_id, or a
// table of ProfileTables that is missing.
func checkErasureTables(tables []profileTable) error {
	have := map[string]bool{}
	for _, t := range tables {
		if len(t.unknown) > 0 {
			return fmt.Errorf("erasure refused: table %s has column(s) %s that may refer to a person; name the column profile_id or teach erasure about it", t.name, strings.Join(t.unknown, ", "))
		}
		if t.hasProfileID {
			have[t.name] = true
		}
	}
	for _, t := range ProfileTables() {
		if !have[t] {
			return fmt.Errorf("erasure refused: profile table %s is not in the schema", t)
		}
	}
	return nil
}

// stringList scans a DuckDB VARCHAR[] into a []string.
type stringList struct{ dst *[]string }

func newStringList(dst *[]string) *stringList { return &stringList{dst} }

func (l *stringList) Scan(src any) error {
	*l.dst = nil
	if src == nil {
		return nil
	}
	items, ok := src.([]any)
	if !ok {
		return fmt.Errorf("want a list, got %T", src)
	}
	for _, it := range items {
		if s, ok := it.(string); ok {
			*l.dst = append(*l.dst, s)
		}
	}
	slices.Sort(*l.dst)
	return nil
}
