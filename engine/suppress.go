package engine

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/tactcdp/tact/engine/eligibility"
)

// IsAddressKind reports whether kind is an address on some channel (a kind
// a suppression may name).
func IsAddressKind(kind string) bool { return slices.Contains(eligibility.AddressKinds(), kind) }

// AddressKindList names the address kinds for messages: "email, phone,
// device_token or line_user_id".
func AddressKindList() string {
	return orList(eligibility.AddressKinds())
}

// Suppression reasons.
const (
	SuppressHardBounce = "hard_bounce"
	SuppressComplaint  = "complaint"
	SuppressStop       = "stop"
	SuppressErased     = "erased"
	SuppressManual     = "manual"
	SuppressInvalid    = "invalid_token"
	// SuppressUnfollow: the person blocked the LINE account (webhook
	// unfollow); a later follow lifts it (UnsuppressReason).
	SuppressUnfollow = "unfollow"
)

// Suppression is one suppressed address, known only by its keyed hash.
type Suppression struct {
	Hash      string    `json:"hash"`
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// Suppress records that an address (of a kind in eligibility.AddressKinds:
// email, phone, device token, LINE user id) must never be contacted.
// Suppressing an address twice keeps the first record.
func (s *Store) Suppress(ctx context.Context, kind, address, reason, source string) error {
	if !IsAddressKind(kind) {
		return &ValidationError{Field: "kind", Msg: "want " + AddressKindList()}
	}
	if reason == "" {
		return &ValidationError{Field: "reason", Msg: "required"}
	}
	v, err := s.NormaliseIdentifier(kind, address)
	if err != nil {
		return &ValidationError{Field: "address", Msg: err.Error()}
	}
	hash := s.HashIdentifier(kind, v)
	return s.write(ctx, func(w *writer) error {
		_, err := w.exec(`INSERT INTO suppressions SELECT ?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE addr_hash = ?)`,
			hash, kind, reason, source, s.now(), hash)
		return err
	})
}

// UnsuppressReason removes an address's suppression only when it was
// recorded for reason (a LINE follow lifts an unfollow, never an erasure or
// a manual suppression). It reports whether one was removed.
func (s *Store) UnsuppressReason(ctx context.Context, kind, address, reason string) (bool, error) {
	v, err := s.NormaliseIdentifier(kind, address)
	if err != nil {
		return false, &ValidationError{Field: "address", Msg: err.Error()}
	}
	var n int64
	err = s.write(ctx, func(w *writer) error {
		r, err := w.exec(`DELETE FROM suppressions WHERE addr_hash = ? AND reason = ?`, s.HashIdentifier(kind, v), reason)
		if err == nil {
			n, err = r.RowsAffected()
		}
		return err
	})
	return n > 0, err
}

// Unsuppress removes an address from the suppression list.
func (s *Store) Unsuppress(ctx context.Context, kind, address string) error {
	v, err := s.NormaliseIdentifier(kind, address)
	if err != nil {
		return &ValidationError{Field: "address", Msg: err.Error()}
	}
	return s.write(ctx, func(w *writer) error {
		_, err := w.exec(`DELETE FROM suppressions WHERE addr_hash = ?`, s.HashIdentifier(kind, v))
		return err
	})
}

// Suppressed reports whether an address is suppressed, and why.
func (s *Store) Suppressed(ctx context.Context, kind, address string) (bool, string, error) {
	v, err := s.NormaliseIdentifier(kind, address)
	if err != nil {
		return false, "", &ValidationError{Field: "address", Msg: err.Error()}
	}
	var reason string
	err = s.db.QueryRowContext(ctx, `SELECT reason FROM suppressions WHERE addr_hash = ?`, s.HashIdentifier(kind, v)).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, reason, nil
}
