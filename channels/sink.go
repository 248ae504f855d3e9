package channels

import (
	"context"
	"time"
)

// This file declares what the channels need from the store. The engine
// implements these interfaces; channels never import the engine.
//
// Every address crossing these interfaces is normalised by the caller:
// emails trimmed and lower-cased, phone numbers E.164 ("+66812345678"),
// push tokens verbatim (an FCM token, or a Web Push endpoint URL).

// ConsentChange describes a consent change requested by the person through a
// channel (an SMS keyword, a provider-level unsubscribe).
type ConsentChange struct {
	// Channel is the consent channel: "sms" or "email".
	Channel string
	// Address identifies the person (normalised); the change applies to every
	// profile holding that address on Channel.
	Address string
	// Purposes lists the purposes affected. Nil means every marketing purpose,
	// i.e. every configured purpose except "transactional" (the STOP rule).
	Purposes []string
	// Sender is the sender identity the person addressed (our SMS number or
	// messaging service); "" means all senders.
	Sender string
	// At is when the person made the change (effective_at).
	At time.Time
	// Source names the origin for the ledger's source column, e.g.
	// "sms_inbound:STOP" or "feedback:twilio".
	Source string
}

// ConsentRecorder records consent changes that arrive through a channel.
type ConsentRecorder interface {
	// Withdraw appends "withdrawn" ledger entries for c.Purposes (nil = all
	// marketing purposes) on c.Channel for every profile holding c.Address.
	// When no profile holds the address it must still record a suppression
	// of the address for marketing on c.Channel, so a later import cannot
	// contact it. changed reports whether any purpose was not already
	// withdrawn (or the address was not already suppressed) before the call;
	// callers use it to confirm at most once. Idempotent.
	Withdraw(ctx context.Context, c ConsentChange) (changed bool, err error)

	// Grant appends "granted" entries for c.Purposes (nil = all marketing
	// purposes) on c.Channel for every profile holding c.Address, and lifts a
	// marketing suppression created by an earlier Withdraw of that address
	// (never one caused by a bounce or complaint). changed reports whether any
	// purpose was not already granted. Idempotent.
	Grant(ctx context.Context, c ConsentChange) (changed bool, err error)
}

// Event is an engagement event to append to a profile's event stream.
type Event struct {
	// Name is the event name, e.g. "email_opened" (see EventName).
	Name string
	// ProfileID is the profile, when known (0 = resolve by Channel+Address).
	ProfileID int64
	// Channel and Address identify the profile when ProfileID is 0.
	Channel string
	Address string
	// MessageID makes the event idempotent: the same id is stored once.
	MessageID string
	// Timestamp is when the event happened at the provider.
	Timestamp time.Time
	// Properties are stored as the event's JSON properties. They never hold
	// the address itself.
	Properties map[string]any
}

// Suppression is an address that must never be contacted again on a channel.
type Suppression struct {
	Channel string
	Address string
	// Reason is "hard_bounce", "complaint", "invalid_number", "stop" or
	// "unsubscribed".
	Reason string
	At     time.Time
	// Source names the origin, e.g. "feedback:ses" or "send:smtp".
	Source string
}

// FeedbackSink is where delivery feedback lands.
type FeedbackSink interface {
	ConsentRecorder

	// RecordEvent appends e to the event stream of the profile identified
	// by e.ProfileID, or else by (e.Channel, e.Address). An event whose
	// profile cannot be found is dropped without error. Duplicate MessageIDs
	// are stored once.
	RecordEvent(ctx context.Context, e Event) error

	// Suppress adds s.Address (stored as a keyed hash) to the suppression
	// list of s.Channel. Idempotent; never removes anything.
	Suppress(ctx context.Context, s Suppression) error

	// DropDeviceToken removes a push token (an FCM registration token, or a
	// Web Push subscription identified by its endpoint URL) from whichever
	// profile holds it. reason is "unregistered", "expired" or "invalid".
	// Idempotent.
	DropDeviceToken(ctx context.Context, token string, at time.Time, reason string) error
}

// Gate is the last consent check, called by adapters immediately before each
// provider call for one message. It returns "" to allow the send, or a short
// reason ("consent_withdrawn", "suppressed", "restricted", ...) to skip it.
// Errors skip the send too (fail closed) with reason "gate_error".
type Gate interface {
	Check(ctx context.Context, channel string, m Message) (reason string, err error)
}

// GateFunc adapts a function to Gate.
type GateFunc func(ctx context.Context, channel string, m Message) (string, error)

// Check calls f.
func (f GateFunc) Check(ctx context.Context, channel string, m Message) (string, error) {
	return f(ctx, channel, m)
}

// CheckGate runs g (nil allows everything) and returns a skip Result and
// false when the send must not happen.
func CheckGate(ctx context.Context, g Gate, channel string, m Message) (Result, bool) {
	if g == nil {
		return Result{}, true
	}
	reason, err := g.Check(ctx, channel, m)
	if err != nil {
		r := Skipped("gate:gate_error")
		r.Err = &SkipError{Reason: "gate_error: " + err.Error()}
		return r, false
	}
	if reason != "" {
		return Skipped("gate:" + reason), false
	}
	return Result{}, true
}
