package line

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SignatureHeader carries the webhook signature: base64 of HMAC-SHA256 of
// the raw body keyed with the channel secret.
const SignatureHeader = "X-Line-Signature"

// DefaultMaxWebhookBytes bounds a webhook body when WebhookReceiver.MaxBytes
// is zero.
const DefaultMaxWebhookBytes = 1 << 20

// Webhook errors. Test with errors.Is; StatusCode maps them to answers.
var (
	// ErrBadSignature: the X-Line-Signature header is missing or does not
	// match the body.
	ErrBadSignature = errors.New("line: invalid or missing X-Line-Signature")
	// ErrBodyTooLarge: the body exceeds WebhookReceiver.MaxBytes.
	ErrBodyTooLarge = errors.New("line: webhook body too large")
	// ErrMalformedWebhook: the (correctly signed) body is not a webhook
	// JSON object.
	ErrMalformedWebhook = errors.New("line: malformed webhook body")
)

// EventType is the type of a webhook event.
type EventType string

// The webhook events Tact acts on. Others (join, leave, beacon, unsend,
// ...) are counted in Webhook.Ignored.
const (
	// EventFollow: the user added the account as a friend or unblocked it.
	EventFollow EventType = "follow"
	// EventUnfollow: the user blocked the account; they are unreachable
	// on LINE until they follow again.
	EventUnfollow EventType = "unfollow"
	// EventMessage: the user sent a message.
	EventMessage EventType = "message"
	// EventPostback: the user tapped a postback action.
	EventPostback EventType = "postback"
	// EventAccountLink: the user linked their LINE account to an account
	// of ours (Link.Nonce identifies the linking session).
	EventAccountLink EventType = "accountLink"
)

// Event is one webhook event, reduced to what Tact uses.
type Event struct {
	// ID is the webhookEventId, unique per event and the same on a
	// redelivery: the caller de-duplicates on it.
	ID   string
	Type EventType
	// Mode is "active" or "standby" (another module holds the chat).
	Mode      string
	Timestamp time.Time
	// Redelivery reports a resend of an event LINE already delivered.
	Redelivery bool
	// SourceType is "user", "group" or "room"; UserID is the sender's LINE
	// user id (valid within the configured provider; may be empty in
	// groups when the user has not consented to share it).
	SourceType string
	UserID     string
	// ReplyToken answers the event for free within a short time (not
	// on unfollow).
	ReplyToken string
	// Unblocked (follow) reports an unblock rather than a new friend.
	Unblocked bool
	// MessageID, MessageType and Text describe a message event (Text only
	// for type "text").
	MessageID, MessageType, Text string
	// PostbackData and PostbackParams describe a postback event.
	PostbackData   string
	PostbackParams map[string]string
	// LinkResult ("ok" or "failed") and LinkNonce describe an accountLink
	// event.
	LinkResult, LinkNonce string
}

// Webhook is one parsed webhook request.
type Webhook struct {
	// Destination is the bot's user id that received the events.
	Destination string
	Events      []Event
	// Ignored counts events of other types.
	Ignored int
}

// ValidSignature reports whether signature is the base64 HMAC-SHA256 of
// body keyed with secret (constant-time comparison).
func ValidSignature(secret, body []byte, signature string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(got) != sha256.Size || len(secret) == 0 {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Sign returns the X-Line-Signature of body (for tests and tools).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type rawEvent struct {
	Type            string `json:"type"`
	Mode            string `json:"mode"`
	Timestamp       int64  `json:"timestamp"`
	WebhookEventID  string `json:"webhookEventId"`
	ReplyToken      string `json:"replyToken"`
	DeliveryContext struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"source"`
	Follow struct {
		IsUnblocked bool `json:"isUnblocked"`
	} `json:"follow"`
	Message struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"message"`
	Postback struct {
		Data   string            `json:"data"`
		Params map[string]string `json:"params"`
	} `json:"postback"`
	Link struct {
		Result string `json:"result"`
		Nonce  string `json:"nonce"`
	} `json:"link"`
}

// ParseWebhook parses a webhook body whose signature has been verified.
// Errors wrap ErrMalformedWebhook and never quote the body.
func ParseWebhook(body []byte) (Webhook, error) {
	var raw struct {
		Destination string      `json:"destination"`
		Events      *[]rawEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Webhook{}, fmt.Errorf("%w: invalid JSON at byte %d", ErrMalformedWebhook, se.Offset)
		}
		return Webhook{}, fmt.Errorf("%w: unexpected JSON structure", ErrMalformedWebhook)
	}
	if raw.Events == nil {
		return Webhook{}, fmt.Errorf("%w: no events array", ErrMalformedWebhook)
	}
	w := Webhook{Destination: raw.Destination}
	for i, e := range *raw.Events {
		switch t := EventType(e.Type); t {
		case EventFollow, EventUnfollow, EventMessage, EventPostback, EventAccountLink:
			if e.WebhookEventID == "" {
				return Webhook{}, fmt.Errorf("%w: event %d has no webhookEventId", ErrMalformedWebhook, i)
			}
			w.Events = append(w.Events, Event{
				ID: e.WebhookEventID, Type: t, Mode: e.Mode, Timestamp: time.UnixMilli(e.Timestamp).UTC(),
				Redelivery: e.DeliveryContext.IsRedelivery, SourceType: e.Source.Type, UserID: e.Source.UserID,
				ReplyToken: e.ReplyToken, Unblocked: e.Follow.IsUnblocked,
				MessageID: e.Message.ID, MessageType: e.Message.Type, Text: e.Message.Text,
				PostbackData: e.Postback.Data, PostbackParams: e.Postback.Params,
				LinkResult: e.Link.Result, LinkNonce: e.Link.Nonce,
			})
		default:
			w.Ignored++
		}
	}
	return w, nil
}

// WebhookReceiver reads LINE webhook requests.
type WebhookReceiver struct {
	// Secret is the channel secret. Required.
	Secret []byte
	// MaxBytes bounds the body. Default DefaultMaxWebhookBytes (1 MiB).
	MaxBytes int64
}

// Read reads r's body (at most MaxBytes), verifies X-Line-Signature before
// parsing anything, and parses the events. Errors wrap ErrBodyTooLarge,
// ErrBadSignature or ErrMalformedWebhook (see StatusCode).
func (wr WebhookReceiver) Read(r *http.Request) (Webhook, error) {
	limit := wr.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxWebhookBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return Webhook{}, fmt.Errorf("line: reading webhook body: %w", err)
	}
	if int64(len(body)) > limit {
		return Webhook{}, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	if !ValidSignature(wr.Secret, body, r.Header.Get(SignatureHeader)) {
		return Webhook{}, ErrBadSignature
	}
	return ParseWebhook(body)
}

// StatusCode is the HTTP answer for an error of Read: 413 too large, 401
// bad signature, 400 malformed, 500 otherwise (LINE redelivers on non-2xx
// answers when redelivery is enabled), 200 for nil.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBadSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMalformedWebhook):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Handler returns the webhook endpoint: POST only; it reads and verifies
// the request with Read and calls handle with the events. handle must
// de-duplicate on Event.ID (LINE redelivers, and may deliver an event
// twice) and should return quickly; a handle error answers 500 so that
// LINE redelivers. LINE's console "Verify" button posts an empty events
// array, which reaches handle with no events.
func (wr WebhookReceiver) Handler(handle func(ctx context.Context, w Webhook) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		hook, err := wr.Read(r)
		if err == nil {
			err = handle(r.Context(), hook)
			if err != nil {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
		}
		if err != nil {
			http.Error(w, err.Error(), StatusCode(err))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
