package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The audit log is an append-only, hash-chained table (audit_log). Each
// entry carries the hash of the entry before it (prev_hash; 64 zeros for the
// first) and its own hash, the hex SHA-256 of its canonical JSON:
//
//	{"action":…,"actor":…,"at":"RFC 3339, UTC, ns","details":{…},"prev_hash":…,"seq":N,"subject":…}
//
// with object keys sorted (details is canonicalised the same way). The head
// (last seq and hash) is also kept in meta under audit_head, so that
// deleting the newest entries is detected too. Entries are appended inside
// the same transaction as the change they record: consent changes, privacy
// requests, exports of personal data, admin reads, retention purges.
//
// Audit entries never hold personal data: a person appears as
// "profile:<id>" (an internal number that means nothing once the person is
// erased) and values only as keyed hashes (KeyedValueHash).

// Audit actions.
const (
	AuditConsentRecorded    = "consent.recorded"
	AuditConsentImported    = "consent.imported"
	AuditErasureWithdrawal  = "consent.erasure_withdrawal"
	AuditSuppressionLifted  = "suppression.erased_lifted"
	AuditRequestOpened      = "privacy.request_opened"
	AuditPrivacyExport      = "privacy.export"
	AuditPrivacyRectify     = "privacy.rectify"
	AuditPrivacyRestrict    = "privacy.restrict"
	AuditPrivacyUnrestrict  = "privacy.unrestrict"
	AuditPrivacyObject      = "privacy.object"
	AuditPrivacyUnobject    = "privacy.unobject"
	AuditPrivacyErase       = "privacy.erase"
	AuditAdminRead          = "admin.read"
	AuditRetentionPurge     = "retention.purge"
	AuditDatabaseCompaction = "database.compact"
)

// genesisHash is the prev_hash of the first entry.
var genesisHash = strings.Repeat("0", 64) //nolint:gochecknoglobals // read-only after initialisation

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// profileSubject is how audit entries name a person.
func profileSubject(id int64) string { return fmt.Sprintf("profile:%d", id) }

// canonicalJSON re-encodes JSON with sorted object keys and no spaces.
func canonicalJSON(raw []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// entryHash is the hash of an entry over its canonical JSON.
func entryHash(e AuditEntry) (string, error) {
	details, err := canonicalJSON(e.Details)
	if err != nil {
		return "", fmt.Errorf("audit entry %d: details: %w", e.Seq, err)
	}
	doc := map[string]any{
		"seq":       e.Seq,
		"at":        e.At.UTC().Format(time.RFC3339Nano),
		"actor":     e.Actor,
		"action":    e.Action,
		"subject":   e.Subject,
		"details":   json.RawMessage(details),
		"prev_hash": e.PrevHash,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	canon, err := canonicalJSON(b)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// audit appends one entry inside w's transaction. details must marshal to a
// JSON object and must not hold personal data.
func (s *Store) audit(w *writer, actor, action, subject string, details any) error {
	if actor == "" {
		actor = "system"
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return err
	}
	if details == nil || string(raw) == "null" {
		raw = []byte("{}")
	}
	canon, err := canonicalJSON(raw)
	if err != nil {
		return err
	}
	var prevSeq int64
	prevHash := genesisHash
	err = w.queryRow(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&prevSeq, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit head: %w", err)
	}
	e := AuditEntry{Seq: prevSeq + 1, At: s.now(), Actor: actor, Action: action, Subject: subject, Details: canon, PrevHash: prevHash}
	if e.Hash, err = entryHash(e); err != nil {
		return err
	}
	if _, err := w.exec(`INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At, e.Actor, e.Action, e.Subject, string(e.Details), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("append audit log: %w", err)
	}
	if _, err := w.exec(`DELETE FROM meta WHERE key = 'audit_head'`); err != nil {
		return err
	}
	_, err = w.exec(`INSERT INTO meta VALUES ('audit_head', ?)`, fmt.Sprintf("%d:%s", e.Seq, e.Hash))
	return err
}

// KeyedValueHash is a keyed hash (HMAC-SHA-256 with the store's key) of a
// value, domain-separated by label: what the audit log keeps instead of an
// old trait value. It proves a later claim about the value without holding
// it.
func (s *Store) KeyedValueHash(label string, value any) string {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write([]byte("value\x00" + label + "\x00"))
	b, _ := json.Marshal(value)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// AuditLog returns entries with seq > after, oldest first; limit <= 0 means
// all. Reading the log is not itself audited.
func (s *Store) AuditLog(ctx context.Context, after int64, limit int) ([]AuditEntry, error) {
	q := `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq > ? ORDER BY seq`
	args := []any{after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var details string
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		e.Details = json.RawMessage(details)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditTamperError says which entry of the audit log fails verification.
type AuditTamperError struct {
	Seq     int64  // the entry that fails (for a missing entry, its expected seq)
	Problem string // what is wrong
}

func (e *AuditTamperError) Error() string {
	return fmt.Sprintf("audit log entry %d: %s", e.Seq, e.Problem)
}

// AuditReport is the outcome of a successful VerifyAudit.
type AuditReport struct {
	Entries int64  `json:"entries"`
	Head    string `json:"head"` // hash of the last entry
}

// VerifyAudit recomputes the hash chain. It returns an *AuditTamperError
// naming the first entry that was changed (its hash no longer matches),
// deleted (a gap in seq, or the stored head is past the end), inserted or
// moved (its prev_hash does not name the entry before it).
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	entries, err := s.AuditLog(ctx, 0, 0)
	if err != nil {
		return AuditReport{}, err
	}
	prev := genesisHash
	var want int64 = 1
	for _, e := range entries {
		switch {
		case e.Seq < want:
			return AuditReport{}, &AuditTamperError{Seq: e.Seq, Problem: "appears twice (an entry was duplicated or renumbered)"}
		case e.Seq > want:
			return AuditReport{}, &AuditTamperError{Seq: want, Problem: fmt.Sprintf("is missing (the log jumps from %d to %d): deleted", want-1, e.Seq)}
		}
		h, err := entryHash(e)
		if err != nil {
			return AuditReport{}, &AuditTamperError{Seq: e.Seq, Problem: "details are not valid JSON: changed"}
		}
		if h != e.Hash {
			return AuditReport{}, &AuditTamperError{Seq: e.Seq, Problem: "content does not match its hash: changed or moved"}
		}
		if e.PrevHash != prev {
			return AuditReport{}, &AuditTamperError{Seq: e.Seq, Problem: "does not link to the entry before it: an entry was deleted, inserted or reordered"}
		}
		prev = e.Hash
		want++
	}
	var head string
	err = s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'audit_head'`).Scan(&head)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if len(entries) > 0 {
			return AuditReport{}, &AuditTamperError{Seq: want - 1, Problem: "the recorded head of the log is missing"}
		}
	case err != nil:
		return AuditReport{}, err
	default:
		if head != fmt.Sprintf("%d:%s", want-1, prev) {
			seq, _, _ := strings.Cut(head, ":")
			return AuditReport{}, &AuditTamperError{Seq: want, Problem: fmt.Sprintf("the log ends at %d but its recorded head is entry %s: entries at the end were deleted or changed", want-1, seq)}
		}
	}
	if len(entries) == 0 {
		prev = ""
	}
	return AuditReport{Entries: want - 1, Head: prev}, nil
}

// RecordAdminRead appends an admin-read entry: an operator (actor) looked
// at a person's data through what (e.g. "profile show", "consent show").
// Callers that show personal data to operators call it.
func (s *Store) RecordAdminRead(ctx context.Context, actor, what string, profileID int64) error {
	return s.write(ctx, func(w *writer) error {
		return s.audit(w, orStr(actor, "operator"), AuditAdminRead, profileSubject(profileID), map[string]any{"what": what})
	})
}

func orStr(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// auditConsents records consent changes made through RecordConsents: one
// entry per profile, listing purpose, channel, status, times and source.
func (s *Store) auditConsents(w *writer, ins []ConsentInput, added int) error {
	if added == 0 {
		return nil
	}
	byProfile := map[int64][]map[string]any{}
	var order []int64
	actor := ""
	for _, in := range ins {
		if _, ok := byProfile[in.ProfileID]; !ok {
			order = append(order, in.ProfileID)
		}
		e := map[string]any{"purpose": in.Purpose, "channel": in.Channel, "status": string(in.Status),
			"effective_at": in.EffectiveAt, "source": in.Source}
		if !in.ExpiresAt.IsZero() {
			e["expires_at"] = in.ExpiresAt
		}
		if in.NoticeVersion != "" {
			e["notice_version"] = in.NoticeVersion
		}
		byProfile[in.ProfileID] = append(byProfile[in.ProfileID], e)
		actor = in.Actor
	}
	for _, id := range order {
		if err := s.audit(w, actor, AuditConsentRecorded, profileSubject(id), map[string]any{"entries": byProfile[id]}); err != nil {
			return err
		}
	}
	return nil
}
