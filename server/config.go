package server

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tactcdp/tact/channels"
)

// Role is what a credential may do. Write keys only ingest; bearer tokens
// carry read, marketer or admin, each including the ones before it.
type Role string

// Roles.
const (
	RoleIngest   Role = "ingest"
	RoleRead     Role = "read"
	RoleMarketer Role = "marketer"
	RoleAdmin    Role = "admin"
)

// rank orders the bearer roles; ingest is outside the hierarchy.
func (r Role) rank() int {
	switch r {
	case RoleRead:
		return 1
	case RoleMarketer:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// allows reports whether a credential with role r may act as need.
func (r Role) allows(need Role) bool {
	if need == RoleIngest || r == RoleIngest {
		return r == need
	}
	return r.rank() >= need.rank()
}

// TokenConfig is one API credential. Secrets may be written as "env:NAME"
// to read them from the environment.
type TokenConfig struct {
	// Name identifies the holder in logs and the audit log ("crm-sync").
	Name string `yaml:"name"`
	// Role is read, marketer or admin.
	Role Role `yaml:"role"`
	// Token is the bearer secret (at least 24 characters).
	Token string `yaml:"token"`
}

// Config is the server's section of tact.yaml (key "server").
type Config struct {
	// Addr is the listen address; --addr overrides it. Default ":8080".
	Addr string `yaml:"addr"`
	// PublicURL is the origin people and providers reach the server at
	// (https://prefs.example.com); it is the base of preference and
	// unsubscribe links and of signed webhook URLs.
	PublicURL string `yaml:"public_url"`
	// WriteKeys are the Segment-style write keys accepted by /v1/*, each a
	// plain string (a client key) or {key: ..., trust: client|server}; see
	// WriteKeyList.
	WriteKeys WriteKeyList `yaml:"write_keys"`
	// Tokens are the admin API bearer tokens.
	Tokens []TokenConfig `yaml:"tokens"`
	// LinkKeys sign preference and unsubscribe links (hex or base64, at
	// least 32 bytes; the first signs, all verify). Not read from YAML:
	// tact wires them from channels.links (the one place link keys are
	// configured) or the key it derives from the database's key.
	LinkKeys []string `yaml:"-"`
	// LinkTTL is the lifetime of issued links; default 90 days, minimum 60.
	// Not read from YAML: tact wires it from channels.links.ttl.
	LinkTTL time.Duration `yaml:"-"`
	// SESTopicARNs are the SNS topics /webhooks/ses accepts (required for
	// SES feedback): SNS signatures prove a message came from SNS, the
	// topic proves it is ours.
	SESTopicARNs []string `yaml:"ses_topic_arns"`
	// SESWebhookKey optionally adds a secret path segment: SES feedback is
	// then accepted only at /webhooks/ses/{key} (at least 24 characters).
	SESWebhookKey string `yaml:"ses_webhook_key"`
	// FeedbackSecrets verify X-Tact-Signature on /webhooks/email/report
	// (RFC 3464 bounces and RFC 5965 complaints relayed by a mail server).
	FeedbackSecrets []string `yaml:"feedback_secrets"`
	// BrandName is the organisation people know, shown in the title and
	// header of the preference centre and unsubscribe pages ("Manage your
	// preferences for ACME"). Unset, the pages use neutral titles.
	BrandName string `yaml:"brand_name"`
	// DefaultLang is the language of those pages when neither the link,
	// the person's locale trait nor the browser names one they have: en
	// (the default) or th.
	DefaultLang string `yaml:"default_lang"`
	// CodeFrom is the sender address of preference-centre confirmation
	// codes. Default privacy@ the public URL's host.
	CodeFrom string `yaml:"code_from"`
	// WebhookFreshness is how old a signed inbound webhook may be (by its
	// own signed timestamp, where the provider sends one); older ones are
	// refused as replays. Every webhook is also de-duplicated by the
	// provider's message id. Default 1h.
	WebhookFreshness time.Duration `yaml:"webhook_freshness"`
	// Ingest tunes the group-commit ingester.
	Ingest IngestConfig `yaml:"ingest"`
	// RateLimit limits the public endpoints.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// MaxBodyBytes bounds request bodies (after gzip decoding for /v1/*).
	// Default 512 KiB for ingestion (Segment's batch limit), 1 MiB for the
	// admin API.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownTimeout bounds the graceful shutdown. Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// SchedulerInterval is how often the journey scheduler ticks. Default 1s.
	SchedulerInterval time.Duration `yaml:"scheduler_interval"`
}

// IngestConfig tunes batching of ingested events.
type IngestConfig struct {
	// FlushInterval is the longest an accepted message waits before its
	// batch is written. Default 50ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MaxBatch is the number of messages that triggers an immediate flush.
	// Default 5000.
	MaxBatch int `yaml:"max_batch"`
	// QueueSize bounds messages waiting to be written; beyond it requests
	// get 503 with Retry-After. Default 100000.
	QueueSize int `yaml:"queue_size"`
}

// RateLimitConfig sets token-bucket limits (requests per second and burst)
// for the public endpoints, per client IP and per token (write key, link
// token, webhook account).
type RateLimitConfig struct {
	PerIP       float64 `yaml:"per_ip"`
	PerIPBurst  int     `yaml:"per_ip_burst"`
	PerToken    float64 `yaml:"per_token"`
	PerTokBurst int     `yaml:"per_token_burst"`
	// PerWriteKey limits ingestion requests per write key.
	PerWriteKey      float64 `yaml:"per_write_key"`
	PerWriteKeyBurst int     `yaml:"per_write_key_burst"`
	// Disabled turns rate limiting off (load tests).
	Disabled bool `yaml:"disabled"`
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.Addr == "" {
		out.Addr = ":8080"
	}
	if out.Ingest.FlushInterval <= 0 {
		out.Ingest.FlushInterval = 50 * time.Millisecond
	}
	if out.Ingest.MaxBatch <= 0 {
		out.Ingest.MaxBatch = 5000
	}
	if out.Ingest.QueueSize <= 0 {
		out.Ingest.QueueSize = 100_000
	}
	if out.RateLimit.PerIP <= 0 {
		out.RateLimit.PerIP = 50
	}
	if out.RateLimit.PerIPBurst <= 0 {
		out.RateLimit.PerIPBurst = 100
	}
	if out.RateLimit.PerToken <= 0 {
		out.RateLimit.PerToken = 10
	}
	if out.RateLimit.PerTokBurst <= 0 {
		out.RateLimit.PerTokBurst = 20
	}
	if out.RateLimit.PerWriteKey <= 0 {
		out.RateLimit.PerWriteKey = 1000
	}
	if out.RateLimit.PerWriteKeyBurst <= 0 {
		out.RateLimit.PerWriteKeyBurst = 2000
	}
	if out.WebhookFreshness <= 0 {
		out.WebhookFreshness = time.Hour
	}
	if out.ShutdownTimeout <= 0 {
		out.ShutdownTimeout = 20 * time.Second
	}
	if out.SchedulerInterval <= 0 {
		out.SchedulerInterval = time.Second
	}
	out.BrandName = strings.TrimSpace(out.BrandName)
	out.DefaultLang = cmp.Or(normLang(out.DefaultLang), langEN)
	return out
}

// secret resolves a credential given by reference ("env:NAME" or
// "file:PATH"); any other value is the credential itself.
func secret(v string) string {
	if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
		// The one syntax of secret references; a missing one reads as ""
		// and Validate names the key.
		r, err := channels.SecretRef(v).Resolve(os.LookupEnv, os.ReadFile)
		if err != nil {
			return ""
		}
		return r
	}
	return v
}

// decodeKey reads a link key written as hex or base64.
func decodeKey(v string) ([]byte, error) {
	v = strings.TrimSpace(secret(v))
	if b, err := hex.DecodeString(v); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		return b, nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(v); err == nil {
		return b, nil
	}
	return nil, errors.New("not hex or base64")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for i, wk := range c.WriteKeys {
		k := secret(wk.Key)
		if len(k) < 8 {
			return fmt.Errorf("server.write_keys[%d]: too short (at least 8 characters)", i)
		}
		seen[k] = true
	}
	for i, t := range c.Tokens {
		switch t.Role {
		case RoleRead, RoleMarketer, RoleAdmin:
		default:
			return fmt.Errorf("server.tokens[%d].role: %q (want read, marketer or admin)", i, t.Role)
		}
		tok := secret(t.Token)
		if len(tok) < 24 {
			return fmt.Errorf("server.tokens[%d].token: too short (at least 24 characters)", i)
		}
		if seen[tok] {
			return fmt.Errorf("server.tokens[%d].token: repeats another credential", i)
		}
		seen[tok] = true
		if t.Name == "" {
			return fmt.Errorf("server.tokens[%d].name: required", i)
		}
	}
	if k := secret(c.SESWebhookKey); k != "" && len(k) < 24 {
		return fmt.Errorf("server.ses_webhook_key: too short (at least 24 characters)")
	}
	for i, k := range c.FeedbackSecrets {
		if len(secret(k)) < 24 {
			return fmt.Errorf("server.feedback_secrets[%d]: too short (at least 24 characters)", i)
		}
	}
	for i, k := range c.LinkKeys {
		b, err := decodeKey(k)
		if err != nil {
			return fmt.Errorf("server.link_keys[%d]: %w", i, err)
		}
		if len(b) < 32 {
			return fmt.Errorf("server.link_keys[%d]: %d bytes, want at least 32", i, len(b))
		}
	}
	if err := checkBrandName(c.BrandName); err != nil {
		return err
	}
	if c.DefaultLang != "" && normLang(c.DefaultLang) == "" {
		return fmt.Errorf("server.default_lang: %q is not a language of the pages (want %s or %s)", c.DefaultLang, langEN, langTH)
	}
	if c.PublicURL != "" {
		if !strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.PublicURL, "http://localhost") && !strings.HasPrefix(c.PublicURL, "http://127.0.0.1") {
			return fmt.Errorf("server.public_url: must use https")
		}
	}
	return nil
}

// CodeFromAddress is CodeFrom, or privacy@ the public URL's host.
func (c *Config) CodeFromAddress() string {
	if c.CodeFrom != "" {
		return c.CodeFrom
	}
	host := "example.com"
	if u, err := url.Parse(c.PublicURL); err == nil && strings.Contains(u.Hostname(), ".") {
		host = u.Hostname()
	}
	return "privacy@" + host
}

// maxBrandName bounds server.brand_name: it sits in a page title.
const maxBrandName = 100

// checkBrandName refuses a brand name that cannot be shown as one line of
// text.
func checkBrandName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("server.brand_name: not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > maxBrandName {
		return fmt.Errorf("server.brand_name: %d characters, at most %d", n, maxBrandName)
	}
	for i, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("server.brand_name: control character U+%04X at byte %d", r, i)
		}
	}
	return nil
}
