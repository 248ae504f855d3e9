package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/consent"
)

// missingField names a consent field that may not be left out.
type missingField struct{ field, msg string }

// withdrawAll applies the withdraw-all rule to an entry's purpose and
// channel (already trimmed and lower-cased): a withdrawal or denial with no
// purpose or no channel is recorded as purpose "*" on channel "*", which
// consent.Evaluate reads as every non-transactional purpose on every
// channel. A grant must name both.
func withdrawAll(purpose, channel string, st consent.Status) (string, string, *missingField) {
	if purpose != "" && channel != "" {
		return purpose, channel, nil
	}
	if st == consent.Withdrawn || st == consent.Denied {
		return consent.Wildcard, consent.Wildcard, nil
	}
	f := "purpose"
	if purpose != "" {
		f = "channel"
	}
	return "", "", &missingField{field: f, msg: "required unless the status is withdrawn or denied (a withdraw-all)"}
}

// ConsentInput is one consent change to append to the ledger. A withdrawal
// or denial with no Purpose or no Channel is a withdraw-all (see
// withdrawAll).
type ConsentInput struct {
	ProfileID int64
	Purpose   string // a known purpose or "*"
	Channel   string // email, sms, push, webhook or "*"
	Status    consent.Status
	// EffectiveAt is when the change takes effect. Default: now.
	EffectiveAt time.Time
	// ExpiresAt ends a grant; zero means it does not expire.
	ExpiresAt     time.Time
	NoticeVersion string
	// Source says where the change came from (cli, preference_centre,
	// sms_inbound, one_click_unsubscribe, api, ...). Required.
	Source string
	// Actor says who made it (the person, an operator, a system). Default: Source.
	Actor string
}

func (s *Store) checkConsentInput(i int, in *ConsentInput, now time.Time) error {
	field := func(f string) string { return fmt.Sprintf("consents[%d].%s", i, f) }
	in.Purpose = strings.ToLower(strings.TrimSpace(in.Purpose))
	in.Channel = strings.ToLower(strings.TrimSpace(in.Channel))
	in.Status = consent.Status(strings.ToLower(strings.TrimSpace(string(in.Status))))
	if !consent.ValidStatus(in.Status) {
		return &ValidationError{Field: field("status"), Msg: fmt.Sprintf("unknown status %q (want granted, denied or withdrawn)", in.Status)}
	}
	purpose, channel, err := withdrawAll(in.Purpose, in.Channel, in.Status)
	if err != nil {
		return &ValidationError{Field: field(err.field), Msg: err.msg}
	}
	in.Purpose, in.Channel = purpose, channel
	if in.Purpose != consent.Wildcard && !s.policy.Known(in.Purpose) {
		return &ValidationError{Field: field("purpose"), Msg: fmt.Sprintf("unknown purpose %q", in.Purpose)}
	}
	if in.Channel != consent.Wildcard && !consent.KnownChannel(in.Channel) {
		return &ValidationError{Field: field("channel"), Msg: fmt.Sprintf("unknown channel %q (want email, sms, push, webhook or *)", in.Channel)}
	}
	if in.Source == "" {
		return &ValidationError{Field: field("source"), Msg: "required"}
	}
	if in.Actor == "" {
		in.Actor = in.Source
	}
	if in.EffectiveAt.IsZero() {
		in.EffectiveAt = now
	}
	in.EffectiveAt = in.EffectiveAt.UTC().Truncate(time.Microsecond)
	if !in.ExpiresAt.IsZero() {
		in.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !in.ExpiresAt.After(in.EffectiveAt) {
			return &ValidationError{Field: field("expires_at"), Msg: "must be after the effective time"}
		}
	}
	return nil
}

// RecordConsents appends entries to the ledger and updates the current
// state in the same transaction. Every input is validated first; on any
// error nothing is written.
func (s *Store) RecordConsents(ctx context.Context, ins []ConsentInput) error {
	now := s.now()
	for i := range ins {
		if err := s.checkConsentInput(i, &ins[i], now); err != nil {
			return err
		}
	}
	return s.write(ctx, func(w *writer) error {
		for _, in := range ins {
			var n int
			if err := w.queryRow(`SELECT count(*) FROM profiles WHERE id = ?`, in.ProfileID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return &NotFoundError{What: fmt.Sprintf("profile id %d", in.ProfileID)}
			}
		}
		if err := w.temp("_cin", "_row BIGINT, profile_id BIGINT, purpose VARCHAR, channel VARCHAR, status VARCHAR, effective_at TIMESTAMP, expires_at TIMESTAMP, notice_version VARCHAR, source VARCHAR, actor VARCHAR, entry_key VARCHAR"); err != nil {
			return err
		}
		rows := make([][]driver.Value, len(ins))
		for i, in := range ins {
			key := digest(fmt.Sprint(in.ProfileID), in.Purpose, in.Channel, string(in.Status), in.EffectiveAt.Format(time.RFC3339Nano),
				in.ExpiresAt.Format(time.RFC3339Nano), in.NoticeVersion, in.Source, now.Format(time.RFC3339Nano), fmt.Sprint(i))
			rows[i] = []driver.Value{int64(i), in.ProfileID, in.Purpose, in.Channel, string(in.Status), in.EffectiveAt, nullTime(in.ExpiresAt), nullable(in.NoticeVersion), in.Source, in.Actor, key}
		}
		if err := w.appendSlice("_cin", rows); err != nil {
			return err
		}
		added, err := s.appendLedger(w, "_cin", now)
		if err != nil {
			return err
		}
		s.log.Info("consent recorded", "entries", len(ins))
		return s.auditConsents(w, ins, added)
	})
}

// RecordConsent appends one entry; see RecordConsents.
func (s *Store) RecordConsent(ctx context.Context, in ConsentInput) error {
	return s.RecordConsents(ctx, []ConsentInput{in})
}

// ConsentLedger returns a profile's ledger entries in append order.
func (s *Store) ConsentLedger(ctx context.Context, id int64) ([]consent.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, purpose, channel, status, effective_at, recorded_at, expires_at, notice_version, source, actor
FROM consent_ledger WHERE profile_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Entry
	for rows.Next() {
		var e consent.Entry
		var exp sql.NullTime
		var ver sql.NullString
		var st string
		if err := rows.Scan(&e.Seq, &e.Purpose, &e.Channel, &st, &e.EffectiveAt, &e.RecordedAt, &exp, &ver, &e.Source, &e.Actor); err != nil {
			return nil, err
		}
		e.Status = consent.Status(st)
		if exp.Valid {
			e.ExpiresAt = exp.Time
		}
		e.NoticeVersion = ver.String
		out = append(out, e)
	}
	return out, rows.Err()
}

// EvaluateConsent decides consent for one person with consent.Evaluate over
// their ledger. Any error yields a not-granted decision with the error.
func (s *Store) EvaluateConsent(ctx context.Context, id int64, purpose, channel string, at time.Time) (consent.Decision, error) {
	entries, err := s.ConsentLedger(ctx, id)
	if err != nil {
		return consent.Decision{Reason: consent.ReasonNoEntry}, err
	}
	return consent.Evaluate(s.policy, entries, purpose, channel, at), nil
}

// ConsentView is the decision for one purpose and channel.
type ConsentView struct {
	Purpose string `json:"purpose"`
	Channel string `json:"channel"`
	consent.Decision
}

// ConsentStates decides every known purpose on every channel for a person.
func (s *Store) ConsentStates(ctx context.Context, id int64, at time.Time) ([]ConsentView, error) {
	entries, err := s.ConsentLedger(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []ConsentView
	for _, p := range s.policy.Purposes() {
		for _, ch := range consent.Channels() {
			out = append(out, ConsentView{Purpose: p.Name, Channel: ch, Decision: consent.Evaluate(s.policy, entries, p.Name, ch, at)})
		}
	}
	return out, nil
}

// ConsentGrantSQL returns a query yielding (profile_id, granted, reason) for
// every profile with a matching consent entry at instant at: consent.GrantSQL
// over the current-state table, or over the whole ledger when some entry
// takes effect after at (the state table assumes every entry is effective).
func (s *Store) ConsentGrantSQL(ctx context.Context, purpose, channel string, at time.Time) (string, []any, error) {
	relation, err := s.consentRelation(ctx, at)
	if err != nil {
		return "", nil, err
	}
	return consent.GrantSQL(s.policy, relation, purpose, channel, at.UTC())
}

// ConsentGrantsByChannelSQL is ConsentGrantSQL for several channels in
// one query (consent.GrantsByChannelSQL): it yields (profile_id, channel,
// granted, reason).
func (s *Store) ConsentGrantsByChannelSQL(ctx context.Context, purpose string, channels []string, at time.Time) (string, []any, error) {
	relation, err := s.consentRelation(ctx, at)
	if err != nil {
		return "", nil, err
	}
	return consent.GrantsByChannelSQL(s.policy, relation, purpose, channels, at.UTC())
}
