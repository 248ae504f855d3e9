package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// FCM defaults.
const (
	DefaultFCMEndpoint = "https://fcm.googleapis.com"
	FCMScope           = "https://www.googleapis.com/auth/firebase.messaging"
)

// FCMConfig configures the FCM HTTP v1 adapter.
type FCMConfig struct {
	// CredentialsJSON is a Google service-account key file (type
	// "service_account"). Required.
	CredentialsJSON []byte
	// ProjectID is the Firebase project. Default: project_id of the
	// credentials.
	ProjectID string
	// Endpoint is the API origin. Default DefaultFCMEndpoint.
	Endpoint string
	// TokenURL overrides the OAuth2 token endpoint (default: token_uri of
	// the credentials, normally https://oauth2.googleapis.com/token).
	TokenURL string
	// TTL is how long FCM keeps an undelivered message (android.ttl).
	// Default 24h.
	TTL time.Duration
	// Templates renders notifications. Required.
	Templates *templates.Set
	// Concurrency is the number of requests in flight. Default 8.
	Concurrency int
	// RatePerSecond limits requests (0 = unlimited).
	RatePerSecond float64
	// HTTPClient is used for FCM and token requests. Default: 30s timeout.
	HTTPClient *http.Client
	// Gate is called immediately before each provider call (nil = allow).
	Gate channels.Gate
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// FCM is the Firebase Cloud Messaging HTTP v1 adapter.
type FCM struct {
	cfg     FCMConfig
	url     string
	tokens  oauth2.TokenSource
	limiter *channels.Limiter
}

var _ channels.Channel = (*FCM)(nil)

// NewFCM checks cfg and returns the adapter. No token is fetched until the
// first Send.
func NewFCM(cfg FCMConfig) (*FCM, error) {
	if len(cfg.CredentialsJSON) == 0 {
		return nil, errors.New("push: FCM service-account credentials are required")
	}
	if cfg.Templates == nil {
		return nil, errors.New("push: Templates is required")
	}
	jc, err := google.JWTConfigFromJSON(cfg.CredentialsJSON, FCMScope)
	if err != nil {
		return nil, fmt.Errorf("push: FCM credentials: %w", err)
	}
	if cfg.TokenURL != "" {
		jc.TokenURL = cfg.TokenURL
	}
	if cfg.ProjectID == "" {
		var f struct {
			ProjectID string `json:"project_id"`
		}
		_ = json.Unmarshal(cfg.CredentialsJSON, &f)
		cfg.ProjectID = f.ProjectID
	}
	if cfg.ProjectID == "" {
		return nil, errors.New("push: FCM project id is required")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultFCMEndpoint
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
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
	tctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient)
	return &FCM{
		cfg:     cfg,
		url:     strings.TrimRight(cfg.Endpoint, "/") + "/v1/projects/" + cfg.ProjectID + "/messages:send",
		tokens:  jc.TokenSource(tctx), // cached until expiry
		limiter: channels.NewLimiter(channels.LimiterConfig{PerSecond: cfg.RatePerSecond, Now: cfg.Now}),
	}, nil
}

// Name returns "push".
func (f *FCM) Name() string { return channels.Push }

// Send delivers each message.
func (f *FCM) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, f.cfg.Concurrency, f.sendOne)
}

// fcmRequest is the v1 messages:send body.
type fcmRequest struct {
	Message fcmMessage `json:"message"`
}

type fcmMessage struct {
	Token        string            `json:"token"`
	Notification *fcmNotification  `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *fcmAndroid       `json:"android,omitempty"`
	Webpush      *fcmWebpush       `json:"webpush,omitempty"`
}

type fcmNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

type fcmAndroid struct {
	TTL      string `json:"ttl,omitempty"`
	Priority string `json:"priority,omitempty"`
}

type fcmWebpush struct {
	FCMOptions *struct {
		Link string `json:"link,omitempty"`
	} `json:"fcm_options,omitempty"`
}

// FCMError is the error body of the FCM v1 API (google.rpc.Status).
type FCMError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// ErrorCode returns the FcmError errorCode detail, or the status.
func (e FCMError) ErrorCode() string {
	for _, d := range e.Error.Details {
		if strings.HasSuffix(d.Type, "google.firebase.fcm.v1.FcmError") && d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	return e.Error.Status
}

func (f *FCM) sendOne(ctx context.Context, m channels.Message) channels.Result {
	token := strings.TrimSpace(m.To)
	if token == "" {
		return channels.Permanent("invalid_address", channels.ErrNoAddress)
	}
	n, err := render(f.cfg.Templates, m, f.cfg.Now())
	if err != nil {
		return channels.Permanent("render", err)
	}
	data := map[string]string{"idempotency_key": m.IdempotencyKey}
	for k, v := range n.Data {
		data[k] = v
	}
	if n.URL != "" {
		data["url"] = n.URL
	}
	msg := fcmMessage{
		Token:        token,
		Notification: &fcmNotification{Title: n.Title, Body: n.Body},
		Data:         data,
		Android:      &fcmAndroid{TTL: strconv.FormatInt(int64(f.cfg.TTL/time.Second), 10) + "s"},
	}
	if !m.Marketing() {
		msg.Android.Priority = "high"
	}
	if n.URL != "" {
		msg.Webpush = &fcmWebpush{FCMOptions: &struct {
			Link string `json:"link,omitempty"`
		}{Link: n.URL}}
	}
	body, err := json.Marshal(fcmRequest{Message: msg})
	if err != nil {
		return channels.Permanent("encode", err)
	}
	if err := f.limiter.Wait(ctx); err != nil {
		return channels.Transient("context", err)
	}
	tok, err := f.tokens.Token()
	if err != nil {
		return channels.Transient("fcm:auth", &channels.ProviderError{Provider: "fcm", Code: "oauth2", Err: err})
	}
	if res, ok := channels.CheckGate(ctx, f.cfg.Gate, channels.Push, m); !ok {
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return channels.Permanent("request", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	tok.SetAuthHeader(req)
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return channels.Transient("fcm:network", &channels.ProviderError{Provider: "fcm", Err: err})
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &ok)
		return channels.Delivered(ok.Name)
	}
	return mapFCMError(resp, raw)
}

func mapFCMError(resp *http.Response, raw []byte) channels.Result {
	var fe FCMError
	_ = json.Unmarshal(raw, &fe)
	code := fe.ErrorCode()
	pe := &channels.ProviderError{Provider: "fcm", HTTPStatus: resp.StatusCode, Code: code, Message: channels.TruncateMessage(fe.Error.Message)}
	reason := "fcm:" + strconv.Itoa(resp.StatusCode)
	if code != "" {
		reason = "fcm:" + code
	}
	switch {
	case code == "UNREGISTERED" || code == "SENDER_ID_MISMATCH" || resp.StatusCode == http.StatusNotFound ||
		resp.StatusCode == http.StatusGone ||
		(code == "INVALID_ARGUMENT" && strings.Contains(strings.ToLower(fe.Error.Message), "registration token")):
		pe.Permanent = true
		r := channels.Permanent(reason, pe)
		r.TokenInvalid = true
		return r
	case code == "QUOTA_EXCEEDED" || code == "UNAVAILABLE" || code == "INTERNAL" || code == "THIRD_PARTY_AUTH_ERROR" ||
		resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusUnauthorized:
		r := channels.Transient(reason, pe)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			r.RetryAfter = time.Duration(s) * time.Second
			pe.RetryAfter = r.RetryAfter
		}
		return r
	}
	pe.Permanent = true
	return channels.Permanent(reason, pe)
}
