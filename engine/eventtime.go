package engine

import (
	"fmt"
	"time"
)

// DefaultEventSkew is how far ahead of now an event time may be when
// Config.EventSkew is zero.
const DefaultEventSkew = 24 * time.Hour

// EarliestEventTime is the earliest event time accepted: 2000-01-01 UTC.
func EarliestEventTime() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) }

// EventTimeError says why an event or profile-update time was refused.
type EventTimeError struct {
	At  time.Time
	Msg string
}

// Error says why the time was refused.
func (e *EventTimeError) Error() string { return e.Msg }

// CheckEventTime refuses a behavioural time (an event's timestamp, a
// profile update's updated_at) before 2000-01-01 or more than the
// configured skew (default 24 h) ahead of the store's clock: such a time
// would sort after everything real, freezing the person's traits and
// hiding their data behind a value no client can render.
func (s *Store) CheckEventTime(t time.Time) error {
	skew := s.cfg.EventSkew
	if skew <= 0 {
		skew = DefaultEventSkew
	}
	if t.Before(EarliestEventTime()) {
		return &EventTimeError{At: t, Msg: fmt.Sprintf("%s is before 2000-01-01", t.UTC().Format(time.RFC3339))}
	}
	if limit := s.clock.Now().Add(skew); t.After(limit) {
		return &EventTimeError{At: t, Msg: fmt.Sprintf("%s is more than %s ahead of now", t.UTC().Format(time.RFC3339), skew)}
	}
	return nil
}
