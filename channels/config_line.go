package channels

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// LINEConfig configures the LINE Official Account channel (Messaging API).
type LINEConfig struct {
	// ChannelAccessToken references the channel access token ("env:NAME"
	// or "file:PATH"). Required.
	ChannelAccessToken SecretRef `yaml:"channel_access_token"`
	// ChannelSecret references the channel secret that signs webhooks.
	// Required.
	ChannelSecret SecretRef `yaml:"channel_secret"`
	// ProviderID is the LINE provider of the channel: a LINE user id is
	// only meaningful within one provider. Required.
	ProviderID string `yaml:"provider_id"`
	// BaseURL is the API origin. Default https://api.line.me (tests: a
	// loopback http URL).
	BaseURL string `yaml:"base_url"`
	// Timeout bounds each request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int `yaml:"concurrency"`
	// RatePerSecond limits requests (0 = unlimited).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// MaxAttempts per request on 429 rate limits, 5xx and network errors.
	// Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// QuotaResetZone is the IANA zone of the monthly quota's reset.
	// Default Asia/Tokyo.
	QuotaResetZone string `yaml:"quota_reset_zone"`
	// NotificationDisabled sends without a phone notification. Default
	// false.
	NotificationDisabled bool `yaml:"notification_disabled"`
	// WebhookMaxBytes bounds a webhook body. Default 1048576 (1 MiB).
	WebhookMaxBytes int64 `yaml:"webhook_max_bytes"`
}

// SecretRef references a secret instead of holding it: "env:NAME" reads
// the environment variable NAME, "file:PATH" the file at PATH (one
// trailing newline removed). The value is never logged.
type SecretRef string

// ErrSecretRef means a SecretRef is malformed or its secret is missing.
var ErrSecretRef = errors.New("channels: bad secret reference")

// Resolve reads the secret; readFile reads file: references (relative
// paths are the caller's to resolve). Errors wrap ErrSecretRef and name
// the variable or file, never the value.
func (r SecretRef) Resolve(lookup LookupFunc, readFile func(string) ([]byte, error)) (string, error) {
	kind, arg, _ := strings.Cut(string(r), ":")
	switch {
	case arg == "":
	case kind == "env":
		v, ok := lookup(arg)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%w: environment variable %s is not set", ErrSecretRef, arg)
		}
		return v, nil
	case kind == "file":
		b, err := readFile(arg)
		if err != nil {
			if inner := errors.Unwrap(err); inner != nil { // *fs.PathError: the path is named already
				err = inner
			}
			return "", fmt.Errorf("%w: reading %s: %w", ErrSecretRef, arg, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%w: file %s is empty", ErrSecretRef, arg)
		}
		return v, nil
	}
	return "", fmt.Errorf(`%w: want "env:NAME" or "file:PATH"`, ErrSecretRef)
}

func (c Config) validateLINE(v *validator, l *LINEConfig) {
	v.ref("line.channel_access_token", l.ChannelAccessToken, true, 0)
	v.ref("line.channel_secret", l.ChannelSecret, true, 0)
	if strings.TrimSpace(l.ProviderID) == "" {
		v.add("line.provider_id", "required (LINE user ids are only meaningful within one provider)")
	}
	if l.BaseURL != "" && !isHTTPSOrLoopback(l.BaseURL) {
		v.add("line.base_url", "must be an https URL (http only for localhost)")
	}
	for _, n := range []struct {
		path string
		bad  bool
	}{
		{"line.timeout", l.Timeout < 0}, {"line.concurrency", l.Concurrency < 0}, {"line.rate_per_second", l.RatePerSecond < 0},
		{"line.max_attempts", l.MaxAttempts < 0}, {"line.webhook_max_bytes", l.WebhookMaxBytes < 0},
	} {
		if n.bad {
			v.add(n.path, "must not be negative")
		}
	}
	if l.QuotaResetZone != "" {
		if _, err := time.LoadLocation(l.QuotaResetZone); err != nil {
			v.add("line.quota_reset_zone", "unknown time zone %q", l.QuotaResetZone)
		}
	}
}
