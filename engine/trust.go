package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// contactKinds are the identifiers an untrusted source may not change or
// add on a profile that already holds one: they decide where messages,
// preference links and data-download codes go.
var contactKinds = [...]string{KindUserID, KindEmail, KindPhone, KindLINEUserID} //nolint:gochecknoglobals // read-only after initialisation

func isContactKind(k string) bool {
	for _, c := range contactKinds {
		if c == k {
			return true
		}
	}
	return false
}

// TrustError refuses an untrusted input (a client write key) that would
// change or add an identifier of kind Kind (user_id, email or phone) on a
// profile that already has one, directly or by merging profiles.
type TrustError struct {
	File string
	Line int
	Kind string
}

// Error names the input, line and identifier kind refused.
func (e *TrustError) Error() string {
	return fmt.Sprintf("%s:%d: %s: a client key may not change or add the %s of a profile that already has one", e.File, e.Line, e.Kind, e.Kind)
}

// untrustedInput marks a context whose import comes from an untrusted
// source; see ImportRowsUntrusted.
type untrustedInput struct{}

func isUntrusted(ctx context.Context) bool {
	v, _ := ctx.Value(untrustedInput{}).(bool)
	return v
}

// ImportRowsUntrusted is ImportRows for rows from an untrusted source, a
// client (browser or app) write key: it may add profiles, events,
// anonymous ids, device tokens and non-contact traits, and link an
// anonymous id to a known person, but not change or add a user_id, email
// or phone on a profile that already has one (*TrustError, nothing
// written). Identifiers it adds are remembered as client-reported, so a
// data-download code is never sent to them (TrustedIdentity).
func (s *Store) ImportRowsUntrusted(ctx context.Context, kind ImportKind, label string, rows []map[string]any) (ImportResult, error) {
	return s.ImportRows(context.WithValue(ctx, untrustedInput{}, true), kind, label, rows)
}

// TrustedIdentity reports whether an identifier was reported by a trusted
// source (an import, a server key, the admin API) and not only through a
// client write key.
func (s *Store) TrustedIdentity(ctx context.Context, kind, value string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM client_identities WHERE value_hash = ?`, s.HashIdentifier(kind, value)).Scan(&n)
	return n == 0, err
}

// checkTrust refuses a resolution that would give an existing profile a
// user_id, email or phone it did not have while it already had one of that
// kind: through a new identifier attached to it, or by merging it with a
// profile holding another. One query reads the contact identifiers of the
// profiles concerned.
func (s *Store) checkTrust(w *writer, r resolution, label string) error {
	group := map[int64]int64{} // existing profile → final profile
	for loser, survivor := range r.merges {
		group[loser], group[survivor] = survivor, survivor
	}
	added := map[int64][]resolvedIdentity{}
	for _, id := range r.newIdentities {
		if isContactKind(id.kind) {
			added[id.profileID] = append(added[id.profileID], id)
			if _, ok := group[id.profileID]; !ok {
				group[id.profileID] = id.profileID
			}
		}
	}
	if len(group) == 0 {
		return nil
	}
	if err := w.temp("_trustp", "profile_id BIGINT"); err != nil {
		return err
	}
	ids := make([][]driver.Value, 0, len(group))
	for p := range group {
		ids = append(ids, []driver.Value{p})
	}
	if err := w.appendSlice("_trustp", ids); err != nil {
		return err
	}
	rows, err := w.query(`SELECT i.profile_id, i.kind, i.value FROM identities i JOIN _trustp t USING (profile_id)
WHERE i.kind IN ('` + strings.Join(contactKinds[:], "', '") + `')`)
	if err != nil {
		return err
	}
	before := map[int64]map[string]map[string]bool{}
	after := map[int64]map[string]map[string]bool{}
	put := func(m map[int64]map[string]map[string]bool, p int64, kind, value string) {
		if m[p] == nil {
			m[p] = map[string]map[string]bool{}
		}
		if m[p][kind] == nil {
			m[p][kind] = map[string]bool{}
		}
		m[p][kind][value] = true
	}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var p int64
			var kind, value string
			if err := rows.Scan(&p, &kind, &value); err != nil {
				return err
			}
			put(before, p, kind, value)
			put(after, group[p], kind, value)
		}
		return rows.Err()
	}()
	if err != nil {
		return err
	}
	line := map[int64]int{}
	for p, ids := range added {
		for _, id := range ids {
			put(after, p, id.kind, id.value)
			line[p] = id.line
		}
	}
	for p, kinds := range before {
		final := group[p]
		for _, kind := range contactKinds {
			had := kinds[kind]
			if len(had) == 0 {
				continue
			}
			for v := range after[final][kind] {
				if !had[v] {
					return &TrustError{File: label, Line: line[final], Kind: kind}
				}
			}
		}
	}
	return nil
}

// noteClientIdentities remembers identifiers an untrusted input added, or
// forgets those a trusted input reported too. hashes are the keyed hashes
// of the identities just added; keys (a table of kind and value) holds
// every identifier of the input.
func (s *Store) noteClientIdentities(w *writer, keys string, hashes []string, now time.Time) error {
	if isUntrusted(w.ctx) {
		rows := make([][]driver.Value, len(hashes))
		for i, h := range hashes {
			rows[i] = []driver.Value{h, now}
		}
		return w.appendSlice("client_identities", rows)
	}
	var n int
	if err := w.queryRow(`SELECT count(*) FROM client_identities`).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err := w.exec(`DELETE FROM client_identities WHERE value_hash IN (
    SELECT i.value_hash FROM identities i JOIN ` + keys + ` k ON i.kind = k.kind AND i.value = k.value)`)
	return err
}
