package engine

import "context"

// Audit actions other packages record through RecordAudit.
const (
	// AuditJourneyPublished: a journey version was published (details:
	// journey, version, purpose). Transactional journeys are always
	// recorded, marketing ones too.
	AuditJourneyPublished = "journey.published"
	// AuditJourneyRefused: a publish was refused by a rule (details:
	// journey, purpose, rule).
	AuditJourneyRefused = "journey.refused"
	// AuditJourneyState: a journey was paused or resumed (details: journey,
	// state).
	AuditJourneyState = "journey.state"
	// AuditSegmentSaved: a named segment was saved (details: segment,
	// members).
	AuditSegmentSaved = "segment.saved"
	// AuditSegmentDeleted: a named segment was deleted (details: segment).
	AuditSegmentDeleted = "segment.deleted"
)

// RecordAudit appends one entry to the audit log in its own transaction,
// for decisions taken outside the engine (a journey published or refused).
// details must hold no personal data.
func (s *Store) RecordAudit(ctx context.Context, actor, action, subject string, details map[string]any) error {
	return s.write(ctx, func(w *writer) error {
		return s.audit(w, orStr(actor, "operator"), action, subject, details)
	})
}
