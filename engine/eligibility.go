package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
)

// CheckEligibilityRequest validates a request's purpose and channel: a known
// purpose (not "*") and a known channel (not "*").
func (s *Store) CheckEligibilityRequest(r eligibility.Request) error {
	if r.Purpose == consent.Wildcard || !s.policy.Known(r.Purpose) {
		return &ValidationError{Field: "purpose", Msg: fmt.Sprintf("unknown purpose %q", r.Purpose)}
	}
	if r.Channel == consent.Wildcard || !consent.KnownChannel(r.Channel) {
		return &ValidationError{Field: "channel", Msg: fmt.Sprintf("unknown channel %q", r.Channel)}
	}
	return nil
}

// EligibilitySQL is eligibility.SQL for request r over people (a table or
// CTE name with profiles' columns id, restricted, objected, email, phone),
// with the consent decision read from the relation ConsentGrantSQL would
// pick, narrowed to people so that only they are grouped.
func (s *Store) EligibilitySQL(ctx context.Context, r eligibility.Request, people string) (string, []any, error) {
	if err := s.CheckEligibilityRequest(r); err != nil {
		return "", nil, err
	}
	var grant string
	var args []any
	if !r.Transactional() {
		rel, err := s.consentRelation(ctx, r.At)
		if err != nil {
			return "", nil, err
		}
		narrowed := "(SELECT * FROM " + rel + " WHERE profile_id IN (SELECT id FROM " + people + ")) AS " + rel
		if grant, args, err = consent.GrantSQL(s.policy, narrowed, r.Purpose, r.Channel, r.At.UTC()); err != nil {
			return "", nil, err
		}
	}
	q, a := eligibility.SQL(r, people, grant, args)
	return q, a, nil
}

// EligiblePerson decides the person-level terms for one person with
// eligibility.Person, reading their flags, consent ledger and suppressions,
// for the address EligibilitySQL would pick on the channel. It returns the
// reason ("" = may be contacted) and that address. A person who no longer
// exists is unreachable; any other error refuses (fail closed).
func (s *Store) EligiblePerson(ctx context.Context, r eligibility.Request, id int64) (string, string, error) {
	return s.eligible(ctx, r, id, "", false)
}

// EligibleTo is EligiblePerson for a send to address (the gate right
// before a provider call): "" is unreachable on a channel with addresses.
func (s *Store) EligibleTo(ctx context.Context, r eligibility.Request, id int64, address string) (string, error) {
	reason, _, err := s.eligible(ctx, r, id, address, true)
	return reason, err
}

func (s *Store) eligible(ctx context.Context, r eligibility.Request, id int64, address string, given bool) (string, string, error) {
	if err := s.CheckEligibilityRequest(r); err != nil {
		return "", "", err
	}
	var f eligibility.Facts
	var email, phone sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT restricted, objected, email, phone FROM profiles WHERE id = ?`, id).Scan(&f.Restricted, &f.Objected, &email, &phone)
	if errors.Is(err, sql.ErrNoRows) {
		return eligibility.Unreachable, "", nil
	}
	if err != nil {
		return "", "", err
	}
	if !r.Transactional() {
		d, err := s.EvaluateConsent(ctx, id, r.Purpose, r.Channel, r.At)
		if err != nil {
			return "", "", err
		}
		f.Consent = d.Reason
	}
	kind := eligibility.AddressKind(r.Channel)
	f.Address = address
	lookUp := kind != "" && address != ""
	switch {
	case kind == "" || given:
	case kind == KindEmail:
		f.Address, lookUp = email.String, email.Valid
	case kind == KindPhone:
		f.Address, lookUp = phone.String, phone.Valid
	default:
		// Several addresses: the newest usable one; suppressed when every
		// one is (as the SQL form decides).
		var usable, held sql.NullString
		err := s.db.QueryRowContext(ctx, `WITH one AS (SELECT ?::BIGINT AS id) SELECT usable, held FROM (`+eligibility.UsableAddressSQL("one")+`)`,
			id, kind).Scan(&usable, &held)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", "", err
		}
		f.Address = usable.String
		if !usable.Valid && held.Valid {
			f.Address, f.Suppressed = held.String, true
		}
	}
	if lookUp {
		if f.Suppressed, _, err = s.Suppressed(ctx, kind, f.Address); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				return "", "", err
			}
			f.Address = "" // not a valid address on the channel: unreachable
		}
	}
	return eligibility.Person(r, f), f.Address, nil
}

// consentRelation names the relation consent.GrantSQL reads at instant at:
// the current-state table, or the whole ledger (consent_entries) when some
// entry takes effect after at (the state table assumes every entry is
// effective).
func (s *Store) consentRelation(ctx context.Context, at time.Time) (string, error) {
	var horizon sql.NullTime
	if err := s.db.QueryRowContext(ctx, `SELECT max(effective_at) FROM consent_state`).Scan(&horizon); err != nil {
		return "", err
	}
	if horizon.Valid && at.Before(horizon.Time) {
		return "consent_entries", nil
	}
	return "consent_state", nil
}
