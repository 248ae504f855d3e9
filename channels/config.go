package channels

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is the "channels:" section of tact.yaml. Secrets are never written
// in the file: each *_env field names the environment variable holding the
// secret. Zero values take the documented defaults. An absent section (nil)
// disables the channel, except email, which defaults to the file adapter.
//
//	channels:
//	  templates: {dir: templates}
//	  links:
//	    base_url: https://prefs.example.com
//	    keys: ["env:TACT_LINK_KEY"]   # optional: derived from the database's key
//	  email:
//	    provider: smtp
//	    from: {name: Tact Coffee, address: hello@coffee.example.com}
//	    smtp: {host: smtp.example.com, username: tact, password_env: SMTP_PASSWORD, pool_size: 4}
//	  sms:
//	    provider: twilio
//	    from: "+15005550006"
//	    twilio: {account_sid: AC..., auth_token_env: TWILIO_AUTH_TOKEN}
//	    inbound: {help_text: "Tact Coffee offers. Reply STOP to cancel."}
//	  line:
//	    channel_access_token: env:LINE_CHANNEL_ACCESS_TOKEN
//	    channel_secret: file:/run/secrets/line_channel_secret
//	    provider_id: "2001234567"
//
// The LINE section references its secrets as "env:NAME" or "file:PATH"
// (SecretRef) instead of *_env keys.
type Config struct {
	Templates TemplatesConfig `yaml:"templates"`
	Links     LinksConfig     `yaml:"links"`
	Email     *EmailConfig    `yaml:"email"`
	SMS       *SMSConfig      `yaml:"sms"`
	Push      *PushConfig     `yaml:"push"`
	Webhook   *WebhookConfig  `yaml:"webhook"`
	LINE      *LINEConfig     `yaml:"line"`
}

// TemplatesConfig locates the templates directory.
type TemplatesConfig struct {
	// Dir is the templates directory. Default "templates".
	Dir string `yaml:"dir"`
}

// LinksConfig configures unsubscribe and preference-centre links.
type LinksConfig struct {
	// BaseURL is the public HTTPS origin of the Tact server. Required for
	// the smtp email provider; default "http://localhost:8080" otherwise.
	BaseURL string `yaml:"base_url"`
	// Keys are the HMAC keys that sign and verify links, by reference
	// ("env:NAME" or "file:PATH"), at least 32 bytes each; the first signs
	// and every one verifies (list the old key after a new one to rotate).
	// Default: a key derived from the database's hashing key (see
	// docs/operations.md), so links keep working across restarts with no
	// configuration. This is the only place link keys are configured.
	Keys []SecretRef `yaml:"keys"`
	// TTL is the token lifetime. Default 2160h (90 days); minimum 1440h.
	TTL time.Duration `yaml:"ttl"`
	// UnsubscribePath defaults to "/unsubscribe", PreferencesPath to
	// "/preferences".
	UnsubscribePath string `yaml:"unsubscribe_path"`
	PreferencesPath string `yaml:"preferences_path"`
}

// Identity is a sender identity.
type Identity struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
}

// EmailConfig configures the email channel.
type EmailConfig struct {
	// Provider is "file" (default: write .eml files) or "smtp".
	Provider string `yaml:"provider"`
	// From is the sender. Required (default for the file provider:
	// "Tact Demo <demo@example.com>").
	From Identity `yaml:"from"`
	// ReplyTo is an optional Reply-To address.
	ReplyTo string `yaml:"reply_to"`
	// RatePerSecond limits sends (0 = unlimited).
	RatePerSecond float64       `yaml:"rate_per_second"`
	File          FileSettings  `yaml:"file"`
	SMTP          SMTPSettings  `yaml:"smtp"`
	DKIM          *DKIMSettings `yaml:"dkim"`
}

// FileSettings configures the file provider.
type FileSettings struct {
	// Dir receives the .eml files. Default "outbox".
	Dir string `yaml:"dir"`
}

// SMTPSettings configures the smtp provider.
type SMTPSettings struct {
	// Host is required.
	Host string `yaml:"host"`
	// Port defaults by TLS mode: 587 starttls, 465 implicit, 25 none.
	Port int `yaml:"port"`
	// TLS is "starttls" (default), "implicit" or "none" (loopback only).
	TLS string `yaml:"tls"`
	// Username enables AUTH; Password (required with it) references the
	// password ("env:NAME" or "file:PATH").
	Username string    `yaml:"username"`
	Password SecretRef `yaml:"password"`
	// PoolSize is the number of connections. Default 4.
	PoolSize int `yaml:"pool_size"`
	// MaxMessagesPerConn defaults to 100.
	MaxMessagesPerConn int `yaml:"max_messages_per_conn"`
	// LocalName is the EHLO name. Default: the From domain.
	LocalName string `yaml:"local_name"`
	// EnvelopeFrom is the bounce address. Default: From.
	EnvelopeFrom string `yaml:"envelope_from"`
	// Timeout bounds each command. Default 60s.
	Timeout time.Duration `yaml:"timeout"`
}

// DKIMSettings configures DKIM signing.
type DKIMSettings struct {
	Domain   string `yaml:"domain"`
	Selector string `yaml:"selector"`
	// PrivateKey references the PEM private key ("file:PATH" or
	// "env:NAME"). Required.
	PrivateKey SecretRef `yaml:"private_key"`
}

// SMSConfig configures the SMS channel.
type SMSConfig struct {
	// Provider is "twilio" (any Twilio-compatible API via twilio.base_url).
	Provider string `yaml:"provider"`
	// From is the sender number (E.164) or alphanumeric sender id;
	// MessagingServiceSID may replace it.
	From                string         `yaml:"from"`
	MessagingServiceSID string         `yaml:"messaging_service_sid"`
	Twilio              TwilioSettings `yaml:"twilio"`
	// RatePerSecond limits sends (0 = unlimited).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// MaxSegments refuses longer bodies. Default 10.
	MaxSegments int             `yaml:"max_segments"`
	Inbound     InboundSettings `yaml:"inbound"`
}

// TwilioSettings configures the Twilio-compatible API.
type TwilioSettings struct {
	// AccountSID ("AC…") is required; AuthToken references the auth token
	// (or API key secret with APIKeySID).
	AccountSID string    `yaml:"account_sid"`
	AuthToken  SecretRef `yaml:"auth_token"`
	APIKeySID  string    `yaml:"api_key_sid"`
	// BaseURL defaults to https://api.twilio.com.
	BaseURL string `yaml:"base_url"`
	// StatusCallback is the public URL of the status webhook (optional).
	StatusCallback string `yaml:"status_callback"`
}

// InboundSettings configures replies to inbound SMS keywords.
type InboundSettings struct {
	// HelpText answers HELP/INFO. Required.
	HelpText string `yaml:"help_text"`
	// StopText and StartText confirm opt-out/opt-in (once); empty = no reply.
	StopText  string `yaml:"stop_text"`
	StartText string `yaml:"start_text"`
	// Extra keywords (e.g. Thai) added to the standard lists.
	ExtraStopWords  []string `yaml:"extra_stop_words"`
	ExtraStartWords []string `yaml:"extra_start_words"`
	ExtraHelpWords  []string `yaml:"extra_help_words"`
}

// PushConfig configures the push channel; at least one provider.
type PushConfig struct {
	WebPush *WebPushSettings `yaml:"web_push"`
	FCM     *FCMSettings     `yaml:"fcm"`
	// RatePerSecond limits sends per provider (0 = unlimited).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// TTL is how long undelivered notifications are kept. Default 24h.
	TTL time.Duration `yaml:"ttl"`
}

// WebPushSettings configures Web Push (VAPID).
type WebPushSettings struct {
	VAPIDPublicKey string `yaml:"vapid_public_key"`
	// VAPIDPrivateKey references the VAPID private key. Required.
	VAPIDPrivateKey SecretRef `yaml:"vapid_private_key"`
	// Subscriber is the VAPID contact (email or https URL). Required.
	Subscriber string `yaml:"subscriber"`
}

// FCMSettings configures FCM HTTP v1.
type FCMSettings struct {
	// ProjectID defaults to the credentials' project_id.
	ProjectID string `yaml:"project_id"`
	// Credentials references the service-account JSON ("file:PATH" or
	// "env:NAME"). Required.
	Credentials SecretRef `yaml:"credentials"`
	// Endpoint and TokenURL override Google's (tests, proxies).
	Endpoint string `yaml:"endpoint"`
	TokenURL string `yaml:"token_url"`
}

// WebhookConfig configures the webhook channel.
type WebhookConfig struct {
	// Secrets reference the signing secrets, at least 16 bytes each; the
	// first signs, several allow rotation. Required.
	Secrets []SecretRef `yaml:"secrets"`
	// MaxAttempts per send (default 4), Timeout per attempt (default 10s).
	MaxAttempts int           `yaml:"max_attempts"`
	Timeout     time.Duration `yaml:"timeout"`
	// AllowHTTP permits plain http endpoints (default: https or loopback).
	AllowHTTP bool `yaml:"allow_http"`
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int `yaml:"concurrency"`
}

// LookupFunc reads an environment variable.
type LookupFunc func(name string) (string, bool)

// Validate checks the configuration against the process environment.
func (c Config) Validate() error { return c.ValidateWith(os.LookupEnv) }

// ValidateWith checks the configuration, reading secrets through lookup.
// Every problem is reported (joined), each a *ConfigError naming the key
// path, e.g. "channels.email.smtp.host: required".
func (c Config) ValidateWith(lookup LookupFunc) error {
	v := &validator{lookup: lookup}
	c.validate(v)
	return errors.Join(v.errs...)
}

type validator struct {
	lookup LookupFunc
	errs   []error
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, configErr("channels."+path, format, args...))
}

// secret checks that env names a set, non-empty variable of min bytes.
// ref checks a secret reference: "env:NAME" (the variable must be set,
// at least min bytes) or "file:PATH" (read by channels/setup, relative to
// the configuration); never the secret itself.
func (v *validator) ref(path string, r SecretRef, required bool, min int) {
	kind, arg, _ := strings.Cut(string(r), ":")
	switch {
	case r == "":
		if required {
			v.add(path, `required ("env:NAME" or "file:PATH")`)
		}
	case kind == "env" && arg != "":
		val, err := r.Resolve(v.lookup, nil)
		switch {
		case err != nil:
			v.add(path, "environment variable %s is not set", arg)
		case len(val) < min:
			v.add(path, "the value of %s is shorter than %d bytes", arg, min)
		}
	case kind == "file" && arg != "":
	default:
		v.add(path, `must be "env:NAME" or "file:PATH" (never the secret itself)`)
	}
}

func isHTTPSOrLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	h := u.Hostname()
	return u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1")
}

func (c Config) validate(v *validator) {
	smtpEmail := c.Email != nil && c.Email.Provider == "smtp"
	l := c.Links
	switch {
	case l.BaseURL == "" && smtpEmail:
		v.add("links.base_url", "required with the smtp email provider (unsubscribe links need a public https URL)")
	case l.BaseURL != "" && !isHTTPSOrLoopback(l.BaseURL):
		v.add("links.base_url", "must be an absolute https URL (http only for localhost), got %q", l.BaseURL)
	}
	for i, k := range l.Keys {
		v.ref(fmt.Sprintf("links.keys[%d]", i), k, true, 32)
	}
	if l.TTL != 0 && l.TTL < 60*24*time.Hour {
		v.add("links.ttl", "must be at least 1440h (60 days), got %s", l.TTL)
	}
	for _, p := range []struct{ path, val string }{{"links.unsubscribe_path", l.UnsubscribePath}, {"links.preferences_path", l.PreferencesPath}} {
		if p.val != "" && !strings.HasPrefix(p.val, "/") {
			v.add(p.path, "must start with /")
		}
	}
	if e := c.Email; e != nil {
		switch e.Provider {
		case "", "file":
		case "smtp":
			c.validateSMTP(v, e)
		default:
			v.add("email.provider", "must be file or smtp, got %q", e.Provider)
		}
		if e.From.Address == "" {
			if e.Provider == "smtp" {
				v.add("email.from.address", "required")
			}
		} else if _, err := NormalizeEmail(e.From.Address); err != nil {
			v.add("email.from.address", "not a valid email address")
		}
		if e.ReplyTo != "" {
			if _, err := NormalizeEmail(e.ReplyTo); err != nil {
				v.add("email.reply_to", "not a valid email address")
			}
		}
		if e.RatePerSecond < 0 {
			v.add("email.rate_per_second", "must not be negative")
		}
		if d := e.DKIM; d != nil {
			if d.Domain == "" {
				v.add("email.dkim.domain", "required")
			}
			if d.Selector == "" {
				v.add("email.dkim.selector", "required")
			}
			switch {
			default:
				v.ref("email.dkim.private_key", d.PrivateKey, true, 0)
			}
		}
	}
	if s := c.SMS; s != nil {
		if s.Provider != "twilio" {
			v.add("sms.provider", "must be twilio, got %q", s.Provider)
		}
		if s.From == "" && s.MessagingServiceSID == "" {
			v.add("sms.from", "required (or messaging_service_sid)")
		} else if s.From != "" && !IsE164(s.From) && !isAlphaSender(s.From) {
			v.add("sms.from", "must be an E.164 number or an alphanumeric sender id of up to 11 characters")
		}
		if s.Twilio.AccountSID == "" {
			v.add("sms.twilio.account_sid", "required")
		} else if !strings.HasPrefix(s.Twilio.AccountSID, "AC") {
			v.add("sms.twilio.account_sid", "must start with AC")
		}
		v.ref("sms.twilio.auth_token", s.Twilio.AuthToken, true, 0)
		if s.Twilio.BaseURL != "" && !isHTTPSOrLoopback(s.Twilio.BaseURL) {
			v.add("sms.twilio.base_url", "must be an https URL")
		}
		if s.Twilio.StatusCallback != "" && !isHTTPSOrLoopback(s.Twilio.StatusCallback) {
			v.add("sms.twilio.status_callback", "must be an https URL")
		}
		if s.MaxSegments < 0 {
			v.add("sms.max_segments", "must not be negative")
		}
		if s.RatePerSecond < 0 {
			v.add("sms.rate_per_second", "must not be negative")
		}
		if strings.TrimSpace(s.Inbound.HelpText) == "" {
			v.add("sms.inbound.help_text", "required (carriers require a HELP reply)")
		}
	}
	if p := c.Push; p != nil {
		if p.WebPush == nil && p.FCM == nil {
			v.add("push", "configure web_push, fcm or both")
		}
		if w := p.WebPush; w != nil {
			if w.VAPIDPublicKey == "" {
				v.add("push.web_push.vapid_public_key", "required")
			}
			v.ref("push.web_push.vapid_private_key", w.VAPIDPrivateKey, true, 0)
			if w.Subscriber == "" {
				v.add("push.web_push.subscriber", "required (contact email or https URL)")
			}
		}
		if f := p.FCM; f != nil {
			switch {
			default:
				v.ref("push.fcm.credentials", f.Credentials, true, 0)
			}
			if f.Endpoint != "" && !isHTTPSOrLoopback(f.Endpoint) {
				v.add("push.fcm.endpoint", "must be an https URL")
			}
			if f.TokenURL != "" && !isHTTPSOrLoopback(f.TokenURL) {
				v.add("push.fcm.token_url", "must be an https URL")
			}
		}
	}
	if l := c.LINE; l != nil {
		c.validateLINE(v, l)
	}
	if w := c.Webhook; w != nil {
		if len(w.Secrets) == 0 {
			v.add("webhook.secrets", `required (a list of "env:NAME" or "file:PATH")`)
		}
		for i, r := range w.Secrets {
			v.ref(fmt.Sprintf("webhook.secrets[%d]", i), r, true, 16)
		}
		if w.MaxAttempts < 0 {
			v.add("webhook.max_attempts", "must not be negative")
		}
	}
}

func (c Config) validateSMTP(v *validator, e *EmailConfig) {
	s := e.SMTP
	if s.Host == "" {
		v.add("email.smtp.host", "required")
	}
	if s.Port < 0 || s.Port > 65535 {
		v.add("email.smtp.port", "must be between 1 and 65535")
	}
	switch s.TLS {
	case "", "starttls", "implicit":
	case "none":
		if s.Host != "" && s.Host != "localhost" && s.Host != "127.0.0.1" && s.Host != "::1" {
			v.add("email.smtp.tls", "none is only allowed for a loopback host")
		}
	default:
		v.add("email.smtp.tls", "must be starttls, implicit or none, got %q", s.TLS)
	}
	if s.Username != "" {
		v.ref("email.smtp.password", s.Password, true, 0)
	} else if s.Password != "" {
		v.add("email.smtp.username", "required when password is set")
	}
	if s.PoolSize < 0 {
		v.add("email.smtp.pool_size", "must not be negative")
	}
	if s.EnvelopeFrom != "" {
		if _, err := NormalizeEmail(s.EnvelopeFrom); err != nil {
			v.add("email.smtp.envelope_from", "not a valid email address")
		}
	}
}

func isAlphaSender(s string) bool {
	if len(s) == 0 || len(s) > 11 {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			letter = true
		case r >= '0' && r <= '9', r == ' ':
		default:
			return false
		}
	}
	return letter
}
