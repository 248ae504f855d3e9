package sms

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
)

// Twilio delivery error codes that mean the number cannot receive SMS.
var statusHardBounce = map[string]bool{ //nolint:gochecknoglobals // read-only after initialisation
	"30003": true, // Unreachable destination handset
	"30005": true, // Unknown destination handset
	"30006": true, // Landline or unreachable carrier
	"21211": true, "21614": true, "21407": true,
}

// ParseStatusCallback turns a Twilio status callback (form fields
// MessageSid, MessageStatus, To, ErrorCode; the query parameter
// StatusKeyParam added by the adapter) into feedback:
//
//	delivered                      → delivered
//	read                           → opened
//	undelivered/failed + 30003, 30005, 30006, 21211, 21614, 21407 → bounce_hard
//	undelivered/failed + 21610     → unsubscribed
//	undelivered/failed otherwise   → bounce_soft
//	queued, accepted, sending, sent, scheduled → nothing (nil)
//
// at is the receive time (Twilio sends no event timestamp).
func ParseStatusCallback(form url.Values, at time.Time) ([]channels.Feedback, error) {
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	if sid == "" || status == "" {
		return nil, errors.New("sms: status callback without MessageSid/MessageStatus")
	}
	to, err := channels.NormalizeE164(form.Get("To"))
	if err != nil {
		return nil, errors.New("sms: status callback with an invalid To")
	}
	code := form.Get("ErrorCode")
	f := channels.Feedback{
		Channel: channels.SMS, Address: to, ProviderMessageID: sid, IdempotencyKey: form.Get(StatusKeyParam),
		ID: sid + ":" + status, At: at, Provider: "twilio", Detail: code,
	}
	switch strings.ToLower(status) {
	case "delivered":
		f.Kind = channels.FeedbackDelivered
	case "read":
		f.Kind = channels.FeedbackOpened
	case "undelivered", "failed":
		switch {
		case statusHardBounce[code]:
			f.Kind = channels.FeedbackBounceHard
		case code == "21610":
			f.Kind = channels.FeedbackUnsubscribed
		default:
			f.Kind = channels.FeedbackBounceSoft
		}
	default:
		return nil, nil
	}
	return []channels.Feedback{f}, nil
}
