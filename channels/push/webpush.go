package push

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

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// WebPushConfig configures the Web Push adapter.
type WebPushConfig struct {
	// VAPIDPublicKey and VAPIDPrivateKey are the application server key
	// pair, base64url (generate with webpush.GenerateVAPIDKeys). Required.
	VAPIDPublicKey  string
	VAPIDPrivateKey string
	// Subscriber is the VAPID contact: an email address (sent as mailto:)
	// or an https URL. Required.
	Subscriber string
	// TTL is how long the push service keeps an undelivered message.
	// Default 24h.
	TTL time.Duration
	// Urgency is "very-low", "low", "normal" (default) or "high";
	// transactional messages always use "high".
	Urgency string
	// Templates renders notifications. Required.
	Templates *templates.Set
	// Concurrency is the number of requests in flight. Default 8.
	Concurrency int
	// RatePerSecond limits requests (0 = unlimited).
	RatePerSecond float64
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
	// Gate is called immediately before each provider call (nil = allow).
	Gate channels.Gate
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WebPush is the Web Push adapter.
type WebPush struct {
	cfg     WebPushConfig
	limiter *channels.Limiter
}

var _ channels.Channel = (*WebPush)(nil)

// NewWebPush checks cfg and returns the adapter.
func NewWebPush(cfg WebPushConfig) (*WebPush, error) {
	if cfg.VAPIDPublicKey == "" || cfg.VAPIDPrivateKey == "" {
		return nil, errors.New("push: VAPID public and private keys are required")
	}
	if cfg.Subscriber == "" {
		return nil, errors.New("push: VAPID subscriber (contact email or https URL) is required")
	}
	// webpush-go adds "mailto:" itself.
	cfg.Subscriber = strings.TrimPrefix(cfg.Subscriber, "mailto:")
	if cfg.Templates == nil {
		return nil, errors.New("push: Templates is required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Urgency == "" {
		cfg.Urgency = string(webpush.UrgencyNormal)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &WebPush{cfg: cfg, limiter: channels.NewLimiter(channels.LimiterConfig{PerSecond: cfg.RatePerSecond, Now: cfg.Now})}, nil
}

// Name returns "push".
func (w *WebPush) Name() string { return channels.Push }

// Send delivers each message.
func (w *WebPush) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, w.cfg.Concurrency, w.sendOne)
}

// ParseSubscription decodes a Web Push subscription JSON.
func ParseSubscription(to string) (*webpush.Subscription, error) {
	var s webpush.Subscription
	if err := json.Unmarshal([]byte(to), &s); err != nil {
		return nil, fmt.Errorf("%w: not a Web Push subscription", channels.ErrInvalidAddress)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		return nil, fmt.Errorf("%w: subscription endpoint must be https", channels.ErrInvalidAddress)
	}
	if s.Keys.P256dh == "" || s.Keys.Auth == "" {
		return nil, fmt.Errorf("%w: subscription without keys", channels.ErrInvalidAddress)
	}
	return &s, nil
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

func (w *WebPush) sendOne(ctx context.Context, m channels.Message) channels.Result {
	sub, err := ParseSubscription(m.To)
	if err != nil {
		return channels.Permanent("invalid_address", err)
	}
	n, err := render(w.cfg.Templates, m, w.cfg.Now())
	if err != nil {
		return channels.Permanent("render", err)
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return channels.Permanent("encode", err)
	}
	urgency := webpush.Urgency(w.cfg.Urgency)
	if !m.Marketing() {
		urgency = webpush.UrgencyHigh
	}
	if err := w.limiter.Wait(ctx); err != nil {
		return channels.Transient("context", err)
	}
	if res, ok := channels.CheckGate(ctx, w.cfg.Gate, channels.Push, m); !ok {
		return res
	}
	resp, err := webpush.SendNotificationWithContext(ctx, payload, sub, &webpush.Options{
		HTTPClient:      w.cfg.HTTPClient,
		Subscriber:      w.cfg.Subscriber,
		VAPIDPublicKey:  w.cfg.VAPIDPublicKey,
		VAPIDPrivateKey: w.cfg.VAPIDPrivateKey,
		TTL:             int(w.cfg.TTL / time.Second),
		Urgency:         urgency,
	})
	if err != nil {
		if errors.Is(err, webpush.ErrMaxPadExceeded) {
			return channels.Permanent("too_long", fmt.Errorf("%w: %w", channels.ErrTooLong, err))
		}
		if ctx.Err() != nil {
			return channels.Transient("context", ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return channels.Transient("webpush:network", &channels.ProviderError{Provider: "webpush", Err: err})
		}
		// Key decoding and encryption errors: the subscription is unusable.
		r := channels.Permanent("invalid_address", fmt.Errorf("%w: %w", channels.ErrInvalidAddress, err))
		return r
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return mapWebPushResponse(resp, string(snippet))
}

func mapWebPushResponse(resp *http.Response, body string) channels.Result {
	code := resp.StatusCode
	if code/100 == 2 {
		return channels.Delivered(resp.Header.Get("Location"))
	}
	pe := &channels.ProviderError{Provider: "webpush", HTTPStatus: code, Message: channels.TruncateMessage(strings.TrimSpace(body))}
	reason := "webpush:" + strconv.Itoa(code)
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		pe.Permanent = true
		r := channels.Permanent(reason, pe)
		r.TokenInvalid = true
		return r
	case code == http.StatusTooManyRequests || code >= 500 || code == http.StatusUnauthorized:
		// 401: our VAPID credentials were refused; fix config, retry.
		r := channels.Transient(reason, pe)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			r.RetryAfter = time.Duration(s) * time.Second
		}
		return r
	case code == http.StatusRequestEntityTooLarge:
		pe.Permanent = true
		pe.Err = channels.ErrTooLong
		return channels.Permanent(reason, pe)
	}
	pe.Permanent = true
	return channels.Permanent(reason, pe)
}
