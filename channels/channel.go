package channels

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Channel names, as used in the consent ledger and in Channel.Name.
const (
	Email   = "email"
	SMS     = "sms"
	Push    = "push"
	Webhook = "webhook"
)

// PurposeTransactional is the built-in purpose that bypasses marketing
// consent (never suppressions).
const PurposeTransactional = "transactional"

// PurposeMarketing is the purpose of a message that names none.
const PurposeMarketing = "marketing"

// Channel delivers messages through one provider.
//
// Send returns exactly one Result per Message, in the same order. It never
// returns early on a failed message: each message is attempted independently.
// A cancelled ctx turns not-yet-attempted messages into StatusTransient
// results carrying ctx.Err(). Implementations are safe for concurrent use.
type Channel interface {
	Name() string
	Send(ctx context.Context, batch []Message) []Result
}

// Message is one send to one person.
type Message struct {
	// IdempotencyKey identifies the send across retries and restarts; build it
	// with NewIdempotencyKey. Providers that honour idempotency receive it
	// (webhook Idempotency-Key header; email Message-ID is derived from it).
	IdempotencyKey string

	ProfileID      int64
	Journey        string
	JourneyVersion int
	Step           string

	// Purpose is the consent purpose of the send ("marketing", ...).
	Purpose string
	// Transactional marks a send that bypasses marketing consent (and the
	// unsubscribe requirements); suppressions still apply.
	Transactional bool

	// To is the normalised address for the channel: an email address
	// (lower-cased), an E.164 phone number, a push target (a Web Push
	// subscription JSON object or an FCM registration token) or a webhook URL.
	To string
	// ToName is an optional display name (email only).
	ToName string
	// Timezone is the person's IANA zone ("" = UTC) used for dates in
	// templates.
	Timezone string

	// Template is the template name (see channels/templates). Webhooks may
	// leave it empty.
	Template string
	// Traits are the profile's traits; missing traits are absent or nil.
	Traits map[string]any
	// Payload is the journey's entry payload (api/event entries).
	Payload map[string]any
	// Test marks a test send to a seed address: adapters label it (the
	// email subject, the SMS and push text start with TestLabel).
	Test bool
}

// TestLabel starts the subject or text of a test send.
const TestLabel = "[TEST] "

// Labelled is text with TestLabel in front when m is a test send.
func (m Message) Labelled(text string) string {
	if m.Test {
		return TestLabel + text
	}
	return text
}

// Marketing reports whether the message needs marketing compliance (consent,
// unsubscribe links, quiet hours).
func (m Message) Marketing() bool {
	return !m.Transactional && m.Purpose != PurposeTransactional
}

// NewIdempotencyKey builds the idempotency key of a send from the journey,
// its version, the step, the profile and the scheduling slot. The key is
// opaque (it reveals neither the journey nor the profile), 47 characters of
// URL-safe text, and equal inputs give equal keys. slot is normalised to UTC,
// so the same instant in different zones gives the same key.
func NewIdempotencyKey(journey string, version int, step string, profileID int64, slot time.Time) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	writeField := func(b []byte) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
		h.Write(b)
	}
	writeField([]byte("tact-idempotency-v1"))
	writeField([]byte(journey))
	writeField(binary.AppendVarint(nil, int64(version)))
	writeField([]byte(step))
	writeField(binary.AppendVarint(nil, profileID))
	writeField(binary.AppendVarint(nil, slot.UTC().UnixNano()))
	return "ik1_" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Status is the outcome class of one send.
type Status int

const (
	// StatusDelivered means the provider accepted the message.
	StatusDelivered Status = iota + 1
	// StatusTransient is a failure that may succeed later; retry with backoff.
	StatusTransient
	// StatusPermanent means retrying the same message will not help.
	StatusPermanent
	// StatusSkipped means no provider call was made (Gate refused, e.g. consent
	// withdrawn or address suppressed); Result.Reason says why.
	StatusSkipped
)

func (s Status) String() string {
	switch s {
	case StatusDelivered:
		return "delivered"
	case StatusTransient:
		return "transient"
	case StatusPermanent:
		return "permanent"
	case StatusSkipped:
		return "skipped"
	}
	return "unknown"
}

// Result is the outcome of sending one Message.
type Result struct {
	Status Status
	// Err describes a failure (nil when delivered). Provider failures are
	// *ProviderError; see errors.go for the sentinel errors.
	Err error
	// ProviderMessageID is the provider's id for the message (SMTP: the
	// Message-ID header value without angle brackets; Twilio: the message
	// SID; FCM: the message name; Web Push: the Location header).
	ProviderMessageID string
	// Reason is a short machine-readable reason for skips and failures
	// ("gate:consent_withdrawn", "smtp:550", "twilio:21211", ...).
	Reason string
	// RetryAfter is a provider hint for transient failures (0 = none).
	RetryAfter time.Duration
	// Units is the number of billable units (SMS segments; 1 otherwise).
	Units int

	// Suppress: the address (Message.To) is permanently undeliverable (hard
	// bounce, invalid or non-mobile number) and must be suppressed.
	Suppress bool
	// OptedOut: the provider reports the recipient opted out of messages
	// from us (Twilio 21610); record a withdrawal for marketing on the channel.
	OptedOut bool
	// TokenInvalid: the push token or subscription is gone (HTTP 404/410, FCM
	// UNREGISTERED); remove it from the profile.
	TokenInvalid bool
}

// Delivered builds a delivered Result.
func Delivered(providerID string) Result {
	return Result{Status: StatusDelivered, ProviderMessageID: providerID, Units: 1}
}

// Transient builds a transient failure Result.
func Transient(reason string, err error) Result {
	return Result{Status: StatusTransient, Reason: reason, Err: err}
}

// Permanent builds a permanent failure Result.
func Permanent(reason string, err error) Result {
	return Result{Status: StatusPermanent, Reason: reason, Err: err}
}

// Skipped builds a skipped Result.
func Skipped(reason string) Result {
	return Result{Status: StatusSkipped, Reason: reason, Err: &SkipError{Reason: reason}}
}
