package engine

import (
	"context"
	"fmt"
	"time"
)

// Restrict sets the person's restricted flag (docs/data-model.md,
// profiles.restricted): the person is in no audience, journey
// or audience export, and their data stays. Object sets profiles.objected:
// no marketing and no profiling on any channel, whatever grants they hold.
// Object also appends a withdrawal ("*" channel, source privacy_objection)
// for every known purpose except transactional to the consent ledger, so the
// objection is a dated fact in the consent history (and in any export), and
// so that a path that consults only consent (the consent gate right before a
// provider call) refuses as well. Unobject clears the flag but grants
// nothing: the person must consent again.
func (s *Store) Restrict(ctx context.Context, user string, opts PrivacyOptions) (Request, error) {
	return s.setFlag(ctx, user, RequestRestrict, "restricted", true, opts)
}

// Unrestrict clears the restricted flag.
func (s *Store) Unrestrict(ctx context.Context, user string, opts PrivacyOptions) (Request, error) {
	return s.setFlag(ctx, user, RequestUnrestrict, "restricted", false, opts)
}

// Object records an objection to marketing and profiling: the objected
// flag, plus a withdrawal in the consent ledger for every purpose but
// transactional (see the package documentation).
func (s *Store) Object(ctx context.Context, user string, opts PrivacyOptions) (Request, error) {
	return s.setFlag(ctx, user, RequestObject, "objected", true, opts)
}

// Unobject clears the objected flag. It grants nothing.
func (s *Store) Unobject(ctx context.Context, user string, opts PrivacyOptions) (Request, error) {
	return s.setFlag(ctx, user, RequestUnobject, "objected", false, opts)
}

var flagActions = map[RequestKind]string{ //nolint:gochecknoglobals // read-only after initialisation
	RequestRestrict: AuditPrivacyRestrict, RequestUnrestrict: AuditPrivacyUnrestrict,
	RequestObject: AuditPrivacyObject, RequestUnobject: AuditPrivacyUnobject,
}

func (s *Store) setFlag(ctx context.Context, user string, kind RequestKind, column string, value bool, opts PrivacyOptions) (Request, error) {
	var req Request
	actor := orStr(opts.Actor, "operator")
	err := s.write(ctx, func(w *writer) error {
		id, err := s.resolveIn(w, user)
		if err != nil {
			return err
		}
		if req, err = s.beginRequest(w, kind, id, opts); err != nil {
			return err
		}
		var was bool
		if err := w.queryRow(fmt.Sprintf(`SELECT %s FROM profiles WHERE id = ?`, column), id).Scan(&was); err != nil {
			return err
		}
		now := s.now()
		if was != value {
			if _, err := w.exec(fmt.Sprintf(`UPDATE profiles SET %s = ?, updated_at = ? WHERE id = ?`, column), value, now, id); err != nil {
				return err
			}
		}
		details := map[string]any{"request_id": req.ID, "flag": column, "value": value, "changed": was != value}
		if kind == RequestObject {
			withdrawn, err := s.appendObjection(w, id, actor, now)
			if err != nil {
				return err
			}
			details["withdrawn_purposes"] = withdrawn
			ended, err := s.endMarketingJourneys(w, id, now)
			if err != nil {
				return err
			}
			details["journeys_ended"] = ended
		}
		outcome := fmt.Sprintf("%s set to %t", column, value)
		if was == value {
			outcome = fmt.Sprintf("%s already %t", column, value)
		}
		if err := s.completeRequest(w, &req, outcome); err != nil {
			return err
		}
		return s.audit(w, actor, flagActions[kind], profileSubject(id), details)
	})
	if err != nil {
		return Request{}, err
	}
	s.log.Info("privacy flag set", "request_id", req.ID, "flag", column, "value", value)
	return req, nil
}

// appendObjection appends a withdrawal on every channel for every known
// purpose except transactional.
func (s *Store) appendObjection(w *writer, id int64, actor string, now time.Time) ([]string, error) {
	if err := w.temp("_objection", "_row BIGINT, profile_id BIGINT, purpose VARCHAR, channel VARCHAR, status VARCHAR, effective_at TIMESTAMP, expires_at TIMESTAMP, notice_version VARCHAR, source VARCHAR, actor VARCHAR, entry_key VARCHAR"); err != nil {
		return nil, err
	}
	var purposes []string
	for i, p := range s.policy.Purposes() {
		if p.Name == "transactional" {
			continue
		}
		purposes = append(purposes, p.Name)
		key := digest("objection", fmt.Sprint(id), p.Name, now.Format(time.RFC3339Nano))
		if _, err := w.exec(`INSERT INTO _objection VALUES (?, ?, ?, '*', 'withdrawn', ?, NULL, NULL, 'privacy_objection', ?, ?)`, int64(i), id, p.Name, now, actor, key); err != nil {
			return nil, err
		}
	}
	_, err := s.appendLedger(w, "_objection", now)
	return purposes, err
}
