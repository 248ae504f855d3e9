package channels

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// FeedbackKind classifies a delivery feedback event.
type FeedbackKind string

// Feedback kinds.
const (
	FeedbackDelivered    FeedbackKind = "delivered"
	FeedbackBounceHard   FeedbackKind = "bounce_hard"
	FeedbackBounceSoft   FeedbackKind = "bounce_soft"
	FeedbackComplaint    FeedbackKind = "complaint"
	FeedbackOpened       FeedbackKind = "opened"
	FeedbackClicked      FeedbackKind = "clicked"
	FeedbackUnsubscribed FeedbackKind = "unsubscribed"
	// FeedbackTokenInvalid means a push token or subscription is gone.
	FeedbackTokenInvalid FeedbackKind = "token_invalid"
)

// Feedback is one delivery outcome reported by a provider, normalised.
type Feedback struct {
	Kind FeedbackKind
	// Channel is "email", "sms" or "push".
	Channel string
	// Address is the recipient, normalised (lower-cased email, E.164 phone,
	// push token or Web Push endpoint).
	Address string
	// ProfileID is the profile when the provider echoed it (0 = unknown).
	ProfileID int64
	// ProviderMessageID is the provider's id of the original message (for
	// email the Message-ID without angle brackets when known).
	ProviderMessageID string
	// IdempotencyKey is Tact's key of the original send when the provider
	// echoed it back ("" = unknown).
	IdempotencyKey string
	// ID is the provider's unique id of this feedback event ("" = derived
	// from the other fields); it makes Apply idempotent.
	ID string
	// At is when the outcome happened.
	At time.Time
	// Provider names the source: "ses", "dsn", "twilio", "fcm", "webpush", "send".
	Provider string
	// Detail is a provider detail: bounce type/subtype, error code, complaint
	// type. Never personal data.
	Detail string
	// URL is the clicked link (clicked only).
	URL string
}

// EventName is the Tact event recorded for f: "<channel>_<verb>", one of
// email_delivered, email_bounced, email_complained, email_opened,
// email_clicked, email_unsubscribed, sms_delivered, sms_bounced,
// sms_unsubscribed, push_token_invalid (and the same verbs for other
// channels).
func (f Feedback) EventName() string {
	verb := ""
	switch f.Kind {
	case FeedbackDelivered:
		verb = "delivered"
	case FeedbackBounceHard, FeedbackBounceSoft:
		verb = "bounced"
	case FeedbackComplaint:
		verb = "complained"
	case FeedbackOpened:
		verb = "opened"
	case FeedbackClicked:
		verb = "clicked"
	case FeedbackUnsubscribed:
		verb = "unsubscribed"
	case FeedbackTokenInvalid:
		verb = "token_invalid"
	default:
		verb = string(f.Kind)
	}
	return f.Channel + "_" + verb
}

func (f Feedback) eventID() string {
	if f.ID != "" {
		return "fb:" + f.Provider + ":" + f.ID + ":" + string(f.Kind)
	}
	h := sha256.New()
	for _, s := range []string{f.Provider, string(f.Kind), f.Channel, f.Address, f.ProviderMessageID,
		f.IdempotencyKey, strconv.FormatInt(f.At.UTC().UnixNano(), 10), f.URL} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return "fb:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// Apply records feedback in the store:
//
//   - every kind becomes an event named f.EventName() with properties
//     provider, detail, provider_message_id, idempotency_key (when known),
//     bounce ("hard"/"soft") and url (clicks);
//   - bounce_hard and complaint suppress the address (reasons "hard_bounce",
//     "complaint");
//   - complaint and unsubscribed withdraw every marketing purpose on the
//     channel for that address;
//   - token_invalid drops the push token.
//
// Apply carries on after an error and returns all errors joined.
func Apply(ctx context.Context, sink FeedbackSink, fbs []Feedback) error {
	var errs []error
	for _, f := range fbs {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if f.Address == "" && f.ProfileID == 0 {
			errs = append(errs, fmt.Errorf("channels: feedback %s from %s has no address", f.Kind, f.Provider))
			continue
		}
		source := "feedback:" + f.Provider
		props := map[string]any{"provider": f.Provider}
		if f.Detail != "" {
			props["detail"] = f.Detail
		}
		if f.ProviderMessageID != "" {
			props["provider_message_id"] = f.ProviderMessageID
		}
		if f.IdempotencyKey != "" {
			props["idempotency_key"] = f.IdempotencyKey
		}
		switch f.Kind {
		case FeedbackBounceHard:
			props["bounce"] = "hard"
		case FeedbackBounceSoft:
			props["bounce"] = "soft"
		case FeedbackClicked:
			if f.URL != "" {
				props["url"] = f.URL
			}
		}
		ev := Event{
			Name: f.EventName(), ProfileID: f.ProfileID, Channel: f.Channel, Address: f.Address,
			MessageID: f.eventID(), Timestamp: f.At, Properties: props,
		}
		if err := sink.RecordEvent(ctx, ev); err != nil {
			errs = append(errs, fmt.Errorf("record %s: %w", ev.Name, err))
		}
		switch f.Kind {
		case FeedbackBounceHard, FeedbackComplaint:
			if f.Address == "" {
				break
			}
			reason := "hard_bounce"
			if f.Kind == FeedbackComplaint {
				reason = "complaint"
			}
			if err := sink.Suppress(ctx, Suppression{Channel: f.Channel, Address: f.Address, Reason: reason, At: f.At, Source: source}); err != nil {
				errs = append(errs, fmt.Errorf("suppress: %w", err))
			}
		case FeedbackTokenInvalid:
			if f.Address == "" {
				break
			}
			if err := sink.DropDeviceToken(ctx, f.Address, f.At, cmp.Or(f.Detail, "unregistered")); err != nil {
				errs = append(errs, fmt.Errorf("drop token: %w", err))
			}
		}
		if (f.Kind == FeedbackComplaint || f.Kind == FeedbackUnsubscribed) && f.Address != "" {
			if _, err := sink.Withdraw(ctx, ConsentChange{Channel: f.Channel, Address: f.Address, At: f.At, Source: source}); err != nil {
				errs = append(errs, fmt.Errorf("withdraw: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// ResultFeedback turns the feedback flags of a send Result into Feedback
// (Suppress → bounce_hard, OptedOut → unsubscribed, TokenInvalid →
// token_invalid), so that ApplyResults/Apply can act on them. at is the send
// time.
func ResultFeedback(channel string, m Message, r Result, at time.Time) []Feedback {
	var out []Feedback
	base := Feedback{
		Channel: channel, Address: m.To, ProfileID: m.ProfileID, IdempotencyKey: m.IdempotencyKey,
		ProviderMessageID: r.ProviderMessageID, At: at, Provider: "send", Detail: r.Reason,
		ID: m.IdempotencyKey,
	}
	if r.Suppress {
		f := base
		f.Kind = FeedbackBounceHard
		out = append(out, f)
	}
	if r.OptedOut {
		f := base
		f.Kind = FeedbackUnsubscribed
		out = append(out, f)
	}
	if r.TokenInvalid {
		f := base
		f.Kind = FeedbackTokenInvalid
		f.Address = PushTokenKey(m.To)
		f.Detail = "unregistered"
		out = append(out, f)
	}
	return out
}

// ApplyResults applies the feedback flags of a batch's results (see
// ResultFeedback). batch and results are what a Channel's Send received and
// returned.
func ApplyResults(ctx context.Context, sink FeedbackSink, channel string, batch []Message, results []Result, at time.Time) error {
	var fbs []Feedback
	for i := range batch {
		if i < len(results) {
			fbs = append(fbs, ResultFeedback(channel, batch[i], results[i], at)...)
		}
	}
	if len(fbs) == 0 {
		return nil
	}
	return Apply(ctx, sink, fbs)
}
