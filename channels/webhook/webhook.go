package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tactcdp/tact/channels"
)

// Config configures the webhook channel.
type Config struct {
	// Secrets sign requests (each at least 16 bytes). Required. All are used
	// (rotation: add the new secret, let receivers update, drop the old).
	Secrets [][]byte
	// MaxAttempts is the number of attempts within one Send, first included.
	// Default 4.
	MaxAttempts int
	// BaseDelay is the delay before the first retry, doubled each retry.
	// Default 500ms.
	BaseDelay time.Duration
	// MaxDelay caps one delay (and a Retry-After). Default 10s.
	MaxDelay time.Duration
	// Jitter maps a computed delay to the one slept. Default: uniformly
	// random in [d/2, d]. Tests pass an identity function.
	Jitter func(d time.Duration) time.Duration
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int
	// AllowHTTP permits http:// URLs to non-loopback hosts. Default false:
	// only https, or http to loopback.
	AllowHTTP bool
	// HTTPClient defaults to a client without a global timeout (Timeout
	// applies per attempt) that does not follow redirects.
	HTTPClient *http.Client
	// Sleep waits between attempts. Default channels.SleepContext.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (X-Tact-Timestamp). Default time.Now.
	Now func() time.Time
	// Gate is called immediately before the first attempt (nil = allow).
	Gate channels.Gate
	// UserAgent defaults to "Tact-Webhook/1".
	UserAgent string
}

// Payload is the JSON document posted for a message.
type Payload struct {
	// ID is the idempotency key (also in the Idempotency-Key header).
	ID             string         `json:"id"`
	Type           string         `json:"type"` // "journey.step"
	Timestamp      time.Time      `json:"timestamp"`
	Journey        string         `json:"journey"`
	JourneyVersion int            `json:"journey_version"`
	Step           string         `json:"step"`
	ProfileID      int64          `json:"profile_id"`
	Purpose        string         `json:"purpose"`
	Traits         map[string]any `json:"traits"`
	Payload        map[string]any `json:"payload"`
}

// Webhook is the webhook channel.
type Webhook struct {
	cfg Config
}

var _ channels.Channel = (*Webhook)(nil)

// New checks cfg and returns the channel.
func New(cfg Config) (*Webhook, error) {
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("webhook: at least one signing secret is required")
	}
	for i, s := range cfg.Secrets {
		if len(s) < 16 {
			return nil, fmt.Errorf("webhook: secret %d is shorter than 16 bytes", i)
		}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 500 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Second
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration {
			if d <= 1 {
				return d
			}
			return d/2 + rand.N(d/2+1)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = channels.SleepContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Tact-Webhook/1"
	}
	return &Webhook{cfg: cfg}, nil
}

// Name returns "webhook".
func (w *Webhook) Name() string { return channels.Webhook }

// Send posts each message, retrying within the call as documented.
func (w *Webhook) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, w.cfg.Concurrency, w.sendOne)
}

// CheckURL reports whether raw is an acceptable endpoint.
func (w *Webhook) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: not an absolute URL", channels.ErrInvalidAddress)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); w.cfg.AllowHTTP || h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%w: http is only allowed to loopback hosts", channels.ErrInvalidAddress)
	}
	return fmt.Errorf("%w: scheme must be https", channels.ErrInvalidAddress)
}

func (w *Webhook) sendOne(ctx context.Context, m channels.Message) channels.Result {
	if m.To == "" {
		return channels.Permanent("invalid_address", channels.ErrNoAddress)
	}
	if err := w.CheckURL(m.To); err != nil {
		return channels.Permanent("invalid_address", err)
	}
	body, err := json.Marshal(Payload{
		ID: m.IdempotencyKey, Type: "journey.step", Timestamp: w.cfg.Now().UTC(),
		Journey: m.Journey, JourneyVersion: m.JourneyVersion, Step: m.Step, ProfileID: m.ProfileID,
		Purpose: m.Purpose, Traits: nonNil(m.Traits), Payload: nonNil(m.Payload),
	})
	if err != nil {
		return channels.Permanent("encode", err)
	}
	if res, ok := channels.CheckGate(ctx, w.cfg.Gate, channels.Webhook, m); !ok {
		return res
	}
	var last channels.Result
	for attempt := 1; attempt <= w.cfg.MaxAttempts; attempt++ {
		var retryAfter time.Duration
		last, retryAfter = w.attempt(ctx, m, body)
		if last.Status != channels.StatusTransient || attempt == w.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		d := w.cfg.BaseDelay << (attempt - 1)
		if d > w.cfg.MaxDelay || d <= 0 {
			d = w.cfg.MaxDelay
		}
		d = w.cfg.Jitter(d)
		if retryAfter > d {
			d = min(retryAfter, w.cfg.MaxDelay)
		}
		if err := w.cfg.Sleep(ctx, d); err != nil {
			last = channels.Transient("context", err)
			break
		}
	}
	return last
}

func (w *Webhook) attempt(ctx context.Context, m channels.Message, body []byte) (channels.Result, time.Duration) {
	actx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, m.To, bytes.NewReader(body))
	if err != nil {
		return channels.Permanent("request", err), 0
	}
	ts := w.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(w.cfg.Secrets, ts, body))
	if m.IdempotencyKey != "" {
		req.Header.Set(IdempotencyKeyHeader, m.IdempotencyKey)
	}
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		reason := "webhook:network"
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			reason = "webhook:timeout"
		}
		return channels.Transient(reason, &channels.ProviderError{Provider: "webhook", Err: err}), 0
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		id := resp.Header.Get("X-Request-Id")
		if id == "" {
			id = m.IdempotencyKey
		}
		return channels.Delivered(id), 0
	}
	pe := &channels.ProviderError{Provider: "webhook", HTTPStatus: resp.StatusCode, Message: channels.TruncateMessage(string(snippet))}
	reason := "webhook:" + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		ra := retryAfter(resp.Header.Get("Retry-After"))
		pe.RetryAfter = ra
		r := channels.Transient(reason, pe)
		r.RetryAfter = ra
		return r, ra
	}
	pe.Permanent = true
	return channels.Permanent(reason, pe), 0
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
