package channels

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors shared by the adapters. Test with errors.Is.
var (
	// ErrNoAddress: Message.To is empty.
	ErrNoAddress = errors.New("channels: message has no address")
	// ErrInvalidAddress: Message.To is not a valid address for the channel.
	ErrInvalidAddress = errors.New("channels: invalid address")
	// ErrNoUnsubscribeLink: a marketing message has no unsubscribe link
	// (template lacks it, or no link base URL is configured).
	ErrNoUnsubscribeLink = errors.New("channels: marketing message without unsubscribe link")
	// ErrTooLong: the rendered message exceeds the channel's size limit.
	ErrTooLong = errors.New("channels: message too long")
	// ErrClosed: the channel was closed.
	ErrClosed = errors.New("channels: channel closed")
	// ErrRender: the template could not be rendered for this message.
	ErrRender = errors.New("channels: template rendering failed")
)

// ProviderError is a failure reported by a provider (SMTP reply, HTTP error
// body). It never contains the recipient's address or the message content.
type ProviderError struct {
	// Provider is "smtp", "twilio", "webpush", "fcm" or "webhook".
	Provider string
	// HTTPStatus is the HTTP status (0 for SMTP and network errors).
	HTTPStatus int
	// Code is the provider's code: the SMTP reply code ("550"), with its
	// enhanced code when present ("550 5.1.1"), Twilio's numeric code
	// ("21211"), FCM's errorCode ("UNREGISTERED").
	Code string
	// Message is the provider's explanation, truncated to 200 bytes.
	Message string
	// Permanent reports whether retrying cannot succeed.
	Permanent bool
	// RetryAfter is the provider's retry hint, if any.
	RetryAfter time.Duration
	// Err is the underlying error (network errors), if any.
	Err error
}

func (e *ProviderError) Error() string {
	s := e.Provider
	if e.HTTPStatus != 0 {
		s += " http " + strconv.Itoa(e.HTTPStatus)
	}
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProviderError) Unwrap() error { return e.Err }

// TruncateMessage shortens a provider message for ProviderError.Message.
func TruncateMessage(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary.
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

// SkipError is the Err of a StatusSkipped result.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "channels: send skipped: " + e.Reason }

// ConfigError reports one missing or wrong configuration setting.
type ConfigError struct {
	// Path is the key path, e.g. "channels.email.smtp.host".
	Path string
	// Problem is what is wrong, e.g. "required".
	Problem string
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Problem }

func configErr(path, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Problem: fmt.Sprintf(format, args...)}
}
