package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// DefaultTwilioBaseURL is Twilio's REST API origin.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// TwilioConfig configures the Twilio-compatible adapter.
type TwilioConfig struct {
	// AccountSID is the account ("AC…"). Required.
	AccountSID string
	// AuthToken is the account auth token, or the API key secret when
	// APIKeySID is set. Required.
	AuthToken string
	// APIKeySID ("SK…") authenticates with an API key instead of the
	// account SID. Optional.
	APIKeySID string
	// From is the sender: an E.164 number or an alphanumeric sender id.
	// Required unless MessagingServiceSID is set.
	From string
	// MessagingServiceSID ("MG…") sends through a messaging service.
	MessagingServiceSID string
	// BaseURL is the API origin. Default DefaultTwilioBaseURL.
	BaseURL string
	// StatusCallback is the URL the provider posts delivery status to
	// (optional). The idempotency key is appended as the query parameter
	// StatusKeyParam so ParseStatusCallback can map it back.
	StatusCallback string
	// Templates renders bodies. Required.
	Templates *templates.Set
	// Links fills .preferences_url in templates (optional).
	Links linktoken.Links
	// MaxSegments refuses bodies longer than this many parts (permanent
	// channels.ErrTooLong). Default 10 (Twilio's limit is 1600 characters).
	MaxSegments int
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int
	// RatePerSecond limits requests per second (0 = unlimited). Twilio
	// queues above the number's throughput (1 msg/s for a long code).
	RatePerSecond float64
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
	// Gate is called immediately before each provider call (nil = allow).
	Gate channels.Gate
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// StatusKeyParam is the StatusCallback query parameter carrying the
// idempotency key.
const StatusKeyParam = "tact_key"

// Twilio is the SMS adapter.
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
	limiter  *channels.Limiter
}

var _ channels.Channel = (*Twilio)(nil)

// NewTwilio checks cfg and returns the adapter.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("sms: account SID and auth token are required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("sms: From or MessagingServiceSID is required")
	}
	if cfg.Templates == nil {
		return nil, errors.New("sms: Templates is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultTwilioBaseURL
	}
	if cfg.MaxSegments <= 0 {
		cfg.MaxSegments = 10
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Twilio{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		limiter:  channels.NewLimiter(channels.LimiterConfig{PerSecond: cfg.RatePerSecond, Now: cfg.Now}),
	}, nil
}

// Name returns "sms".
func (t *Twilio) Name() string { return channels.SMS }

// Send sends each message with up to Concurrency requests in flight.
func (t *Twilio) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, t.cfg.Concurrency, t.sendOne)
}

// Render renders the body of m (exported for previews).
func (t *Twilio) Render(m channels.Message) (string, SegmentInfo, error) {
	data := m.TemplateData(t.cfg.Now())
	if _, _, err := m.AddLinks(&data, channels.SMS, t.cfg.Links); err != nil {
		return "", SegmentInfo{}, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	r, err := t.cfg.Templates.Render(m.Template, templates.ChannelSMS, data)
	if err != nil {
		return "", SegmentInfo{}, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	text := m.Labelled(r.Text)
	seg := CountSegments(text)
	if seg.Segments > t.cfg.MaxSegments {
		return "", seg, fmt.Errorf("%w: %d segments, limit %d", channels.ErrTooLong, seg.Segments, t.cfg.MaxSegments)
	}
	return text, seg, nil
}

func (t *Twilio) sendOne(ctx context.Context, m channels.Message) channels.Result {
	to := strings.TrimSpace(m.To)
	if to == "" {
		return channels.Permanent("invalid_address", channels.ErrNoAddress)
	}
	if !channels.IsE164(to) {
		r := channels.Permanent("invalid_address", channels.ErrInvalidAddress)
		return r
	}
	body, seg, err := t.Render(m)
	if err != nil {
		reason := "render"
		if errors.Is(err, channels.ErrTooLong) {
			reason = "too_long"
		}
		return channels.Permanent(reason, err)
	}
	form := url.Values{"To": {to}, "Body": {body}}
	if t.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	} else {
		form.Set("From", t.cfg.From)
	}
	if t.cfg.StatusCallback != "" {
		if cb, err := url.Parse(t.cfg.StatusCallback); err == nil {
			q := cb.Query()
			q.Set(StatusKeyParam, m.IdempotencyKey)
			cb.RawQuery = q.Encode()
			form.Set("StatusCallback", cb.String())
		}
	}
	if err := t.limiter.Wait(ctx); err != nil {
		return channels.Transient("context", err)
	}
	if res, ok := channels.CheckGate(ctx, t.cfg.Gate, channels.SMS, m); !ok {
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return channels.Permanent("request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if m.IdempotencyKey != "" {
		// Honoured by Twilio-compatible providers that support it; ignored
		// by the others.
		req.Header.Set("Idempotency-Key", m.IdempotencyKey)
	}
	user := t.cfg.AccountSID
	if t.cfg.APIKeySID != "" {
		user = t.cfg.APIKeySID
	}
	req.SetBasicAuth(user, t.cfg.AuthToken)
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		return channels.Transient("twilio:network", &channels.ProviderError{Provider: "twilio", Err: err})
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		var ok struct {
			SID         string `json:"sid"`
			Status      string `json:"status"`
			NumSegments string `json:"num_segments"`
		}
		_ = json.Unmarshal(raw, &ok)
		r := channels.Delivered(ok.SID)
		r.Units = seg.Segments
		if n, err := strconv.Atoi(ok.NumSegments); err == nil && n > 0 {
			r.Units = n
		}
		return r
	}
	return mapTwilioError(resp, raw)
}

// TwilioError is Twilio's JSON error body.
type TwilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// Twilio error codes with a specific meaning for Tact.
var (
	// Recipient address is invalid or cannot receive SMS: suppress.
	twilioSuppress = map[int]bool{ //nolint:gochecknoglobals // read-only after initialisation
		21211: true, // Invalid 'To' Phone Number
		21217: true, // Phone number does not appear to be valid
		21401: true, // Invalid Phone Number
		21407: true, // This Phone Number type does not support SMS
		21614: true, // 'To' number is not a valid mobile number
	}
	// Our configuration is wrong (sender, account): retrying later after a
	// fix can succeed, and it is not the recipient's fault.
	twilioConfig = map[int]bool{ //nolint:gochecknoglobals // read-only after initialisation
		20003: true, // Authentication error
		20005: true, // Account not active
		21606: true, // 'From' number is not a valid message-capable number
		21212: true, // Invalid 'From' number
		21659: true, // 'From' is not a Twilio phone number
		21703: true, // Messaging service has no phone numbers
		30002: true, // Account suspended
	}
)

const twilioOptedOut = 21610 // Attempt to send to unsubscribed recipient

func mapTwilioError(resp *http.Response, raw []byte) channels.Result {
	var te TwilioError
	_ = json.Unmarshal(raw, &te)
	pe := &channels.ProviderError{Provider: "twilio", HTTPStatus: resp.StatusCode, Message: channels.TruncateMessage(stripNumbers(te.Message))}
	if te.Code != 0 {
		pe.Code = strconv.Itoa(te.Code)
	}
	reason := "twilio:" + strconv.Itoa(resp.StatusCode)
	if pe.Code != "" {
		reason = "twilio:" + pe.Code
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || te.Code == 20429 || resp.StatusCode >= 500:
		pe.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		r := channels.Transient(reason, pe)
		r.RetryAfter = pe.RetryAfter
		return r
	case twilioConfig[te.Code] || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return channels.Transient(reason, pe)
	}
	pe.Permanent = true
	r := channels.Permanent(reason, pe)
	switch {
	case twilioSuppress[te.Code]:
		r.Suppress = true
	case te.Code == twilioOptedOut:
		r.OptedOut = true
	}
	return r
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// stripNumbers removes phone numbers that Twilio echoes in error messages
// ("The 'To' number +15005550001 is not a valid phone number."), so errors
// carry no personal data.
func stripNumbers(s string) string {
	var b strings.Builder
	digits := 0
	flush := func(run string) {
		if digits >= 6 {
			b.WriteString("[number]")
		} else {
			b.WriteString(run)
		}
	}
	run := strings.Builder{}
	for _, r := range s {
		if r >= '0' && r <= '9' || (r == '+' && run.Len() == 0) {
			run.WriteRune(r)
			if r != '+' {
				digits++
			}
			continue
		}
		if run.Len() > 0 {
			flush(run.String())
			run.Reset()
			digits = 0
		}
		b.WriteRune(r)
	}
	if run.Len() > 0 {
		flush(run.String())
	}
	return b.String()
}
