package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RequestKind is the kind of a data-subject request.
type RequestKind string

// Request kinds.
const (
	RequestAccess     RequestKind = "access"
	RequestRectify    RequestKind = "rectify"
	RequestRestrict   RequestKind = "restrict"
	RequestUnrestrict RequestKind = "unrestrict"
	RequestObject     RequestKind = "object"
	RequestUnobject   RequestKind = "unobject"
	RequestErase      RequestKind = "erase"
)

// RequestKinds lists the request kinds.
func RequestKinds() []RequestKind {
	return []RequestKind{RequestAccess, RequestRectify, RequestRestrict, RequestUnrestrict, RequestObject, RequestUnobject, RequestErase}
}

func validRequestKind(k RequestKind) bool {
	for _, x := range RequestKinds() {
		if x == k {
			return true
		}
	}
	return false
}

// Request statuses.
const (
	RequestOpen      = "open"
	RequestCompleted = "completed"
)

// Request is one data-subject request as recorded in privacy_requests.
type Request struct {
	ID          int64       `json:"id"`
	Kind        RequestKind `json:"kind"`
	ProfileID   int64       `json:"profile_id,omitempty"` // 0 once the person is erased
	ReceivedAt  time.Time   `json:"received_at"`
	DueAt       time.Time   `json:"due_at"`
	Status      string      `json:"status"`
	CompletedAt time.Time   `json:"completed_at,omitzero"`
	Outcome     string      `json:"outcome,omitempty"`
	Actor       string      `json:"actor"`
	Overdue     bool        `json:"overdue"`
}

// DueAt is when a request received at t must be answered: the earlier of
// 30 days (Thai PDPA s.30) and one calendar month (GDPR Art. 12(3)) after
// it, computed in UTC. One month from the 31st (or 29th, 30th) ends on the
// last day of a shorter month, never spilling into the one after: one
// month from 31 January is 28 (or 29) February, not 3 March.
func DueAt(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := time.Date(y, m+2, 0, 0, 0, 0, 0, time.UTC).Day() // days in the next month
	month := first.AddDate(0, 0, min(d, last)-1)
	if days30 := t.AddDate(0, 0, 30); days30.Before(month) {
		return days30
	}
	return month
}

// PrivacyOptions say who carries out a privacy operation and which request
// it answers.
type PrivacyOptions struct {
	// Actor is who carries it out (an operator name, "api", ...); default
	// "operator".
	Actor string
	// RequestID is an open request (OpenRequest) this operation fulfils.
	// Zero records a new request, received now and completed at once.
	RequestID int64
}

// OpenRequest records a request received at receivedAt (zero: now) about
// the person user identifies, to be fulfilled later by the operation of the
// same kind with PrivacyOptions.RequestID. An unknown person is a
// *NotFoundError and nothing is recorded.
func (s *Store) OpenRequest(ctx context.Context, kind RequestKind, user string, receivedAt time.Time, actor string) (Request, error) {
	if !validRequestKind(kind) {
		return Request{}, &ValidationError{Field: "kind", Msg: fmt.Sprintf("unknown request kind %q", kind)}
	}
	actor = orStr(actor, "operator")
	now := s.now()
	if receivedAt.IsZero() {
		receivedAt = now
	}
	receivedAt = receivedAt.UTC().Truncate(time.Microsecond)
	if receivedAt.After(now) {
		return Request{}, &ValidationError{Field: "received_at", Msg: "is in the future"}
	}
	var req Request
	err := s.write(ctx, func(w *writer) error {
		id, err := s.resolveIn(w, user)
		if err != nil {
			return err
		}
		req, err = s.insertRequest(w, kind, id, receivedAt, actor)
		if err != nil {
			return err
		}
		return s.audit(w, actor, AuditRequestOpened, profileSubject(id), map[string]any{"request_id": req.ID, "kind": kind, "due_at": req.DueAt})
	})
	if err != nil {
		return Request{}, err
	}
	s.log.Info("privacy request opened", "request_id", req.ID, "kind", kind)
	return req, nil
}

func (s *Store) insertRequest(w *writer, kind RequestKind, profileID int64, receivedAt time.Time, actor string) (Request, error) {
	var id int64
	if err := w.queryRow(`SELECT coalesce(max(id), 0) + 1 FROM privacy_requests`).Scan(&id); err != nil {
		return Request{}, err
	}
	req := Request{ID: id, Kind: kind, ProfileID: profileID, ReceivedAt: receivedAt, DueAt: DueAt(receivedAt), Status: RequestOpen, Actor: actor}
	_, err := w.exec(`INSERT INTO privacy_requests VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
		req.ID, string(kind), profileID, req.ReceivedAt, req.DueAt, req.Status, actor)
	return req, err
}

// beginRequest returns the request an operation answers: the open request
// opts names (checked to be of this kind and about this person), or a new
// one received now.
func (s *Store) beginRequest(w *writer, kind RequestKind, profileID int64, opts PrivacyOptions) (Request, error) {
	actor := orStr(opts.Actor, "operator")
	if opts.RequestID == 0 {
		return s.insertRequest(w, kind, profileID, s.now(), actor)
	}
	req, err := scanRequest(w.queryRow(requestSelect+` WHERE id = ?`, opts.RequestID), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, &ValidationError{Field: "request", Msg: fmt.Sprintf("no request %d", opts.RequestID)}
	}
	if err != nil {
		return Request{}, err
	}
	switch {
	case req.Status != RequestOpen:
		return Request{}, &ValidationError{Field: "request", Msg: fmt.Sprintf("request %d is already %s", req.ID, req.Status)}
	case req.Kind != kind:
		return Request{}, &ValidationError{Field: "request", Msg: fmt.Sprintf("request %d is a %s request, not %s", req.ID, req.Kind, kind)}
	case req.ProfileID != profileID:
		return Request{}, &ValidationError{Field: "request", Msg: fmt.Sprintf("request %d concerns another person", req.ID)}
	}
	return req, nil
}

// completeRequest marks a request completed with an outcome (never
// personal data).
func (s *Store) completeRequest(w *writer, req *Request, outcome string) error {
	req.Status, req.CompletedAt, req.Outcome = RequestCompleted, s.now(), outcome
	_, err := w.exec(`UPDATE privacy_requests SET status = ?, completed_at = ?, outcome = ? WHERE id = ?`, req.Status, req.CompletedAt, outcome, req.ID)
	return err
}

const requestSelect = `SELECT id, kind, profile_id, received_at, due_at, status, completed_at, outcome, actor FROM privacy_requests`

type rowScanner interface{ Scan(dest ...any) error }

func scanRequest(r rowScanner, now time.Time) (Request, error) {
	var req Request
	var pid sql.NullInt64
	var done sql.NullTime
	var outcome sql.NullString
	var kind string
	if err := r.Scan(&req.ID, &kind, &pid, &req.ReceivedAt, &req.DueAt, &req.Status, &done, &outcome, &req.Actor); err != nil {
		return req, err
	}
	req.Kind = RequestKind(kind)
	req.ProfileID = pid.Int64
	req.ReceivedAt, req.DueAt = req.ReceivedAt.UTC(), req.DueAt.UTC()
	if done.Valid {
		req.CompletedAt = done.Time.UTC()
	}
	req.Outcome = outcome.String
	req.Overdue = req.Status == RequestOpen && now.After(req.DueAt)
	return req, nil
}

// RequestFilter selects requests.
type RequestFilter struct {
	// All includes completed requests; by default only open ones are listed.
	All bool
	// OverdueOnly keeps open requests past their due time.
	OverdueOnly bool
	// ProfileID keeps one person's requests; 0 means everyone.
	ProfileID int64
}

// Requests lists requests, oldest due first.
func (s *Store) Requests(ctx context.Context, f RequestFilter) ([]Request, error) {
	now := s.now()
	q := requestSelect + ` WHERE true`
	var args []any
	if !f.All {
		q += ` AND status = 'open'`
	}
	if f.OverdueOnly {
		q += ` AND status = 'open' AND due_at < ?`
		args = append(args, now)
	}
	if f.ProfileID != 0 {
		q += ` AND profile_id = ?`
		args = append(args, f.ProfileID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY due_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Request{}
	for rows.Next() {
		r, err := scanRequest(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// resolveIn finds the profile user identifies, inside a write. It is
// ResolveUser on the write's connection, so the answer cannot change
// before the write commits.
func (s *Store) resolveIn(w *writer, user string) (int64, error) {
	ident := trimmed(user)
	if ident == "" {
		return 0, &ValidationError{Field: "user", Msg: "empty identifier"}
	}
	for _, kind := range IdentityKinds() {
		v, err := normaliseIdentifier(kind, ident, s.cfg.DefaultRegion)
		if err != nil {
			continue
		}
		var id int64
		err = w.queryRow(`SELECT profile_id FROM identities WHERE kind = ? AND value = ?`, kind, v).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	return 0, &NotFoundError{What: "the given identifier"}
}
