package setup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/line"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/push"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/channels/webhook"
)

// Deps are the process-level inputs of Build.
type Deps struct {
	// LookupEnv reads secrets. Default os.LookupEnv.
	LookupEnv channels.LookupFunc
	// BaseDir resolves relative paths (templates, outbox, key files).
	// Default: the working directory.
	BaseDir string
	// Gate is passed to every adapter (nil = no last-moment check; the
	// engine should always supply one).
	Gate channels.Gate
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// LinkKeys sign and verify links when channels.links.keys is empty:
	// the caller derives them from the database's key. With neither, Build
	// fails (a random key would kill every link at the next restart).
	LinkKeys [][]byte
}

// Set is the built channel set.
type Set struct {
	// Channels by name ("email", "sms", "push", "webhook", "line"); only
	// configured ones are present.
	Channels map[string]channels.Channel
	// Templates is the loaded templates directory.
	Templates *templates.Set
	// Signer verifies link tokens (the server's unsubscribe and preference
	// handlers use it); Links builds them.
	Signer *linktoken.Signer
	Links  linktoken.Links
	// SMSInbound configures sms.HandleInbound; TwilioAuthToken validates
	// X-Twilio-Signature on inbound and status webhooks ("" without SMS).
	SMSInbound      sms.InboundConfig
	TwilioAuthToken string
	// WebhookSecrets verify webhook signatures (e.g. in tests of receivers).
	WebhookSecrets [][]byte
	// LINE is the LINE adapter (nil without a line section; also in
	// Channels["line"]): the server reports LINE.State() in its health
	// output, registers LINE.PausedGauge as a gauge and may call
	// LINE.CheckQuota at start-up.
	LINE *line.Adapter
	// LINEWebhook verifies and parses LINE webhooks: the server mounts
	// LINEWebhook.Handler(...) at /webhooks/line.
	LINEWebhook line.WebhookReceiver
	// Warnings are non-fatal notes for the start-up log (no secrets).
	Warnings []string

	closers []io.Closer
}

// Get returns the channel with that name.
func (s *Set) Get(name string) (channels.Channel, bool) {
	c, ok := s.Channels[name]
	return c, ok
}

// Close releases pooled connections.
func (s *Set) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Build validates cfg and constructs every configured channel. Without an
// email section the file adapter writes into "outbox" (zero setup).
func Build(cfg channels.Config, deps Deps) (*Set, error) {
	if deps.LookupEnv == nil {
		deps.LookupEnv = os.LookupEnv
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if err := cfg.ValidateWith(deps.LookupEnv); err != nil {
		return nil, err
	}
	path := func(p string) string {
		if p == "" || filepath.IsAbs(p) || deps.BaseDir == "" {
			return p
		}
		return filepath.Join(deps.BaseDir, p)
	}
	s := &Set{Channels: map[string]channels.Channel{}}

	dir := cfg.Templates.Dir
	if dir == "" {
		dir = "templates"
	}
	ts, err := templates.Load(path(dir))
	if err != nil {
		return nil, fmt.Errorf("channels.templates.dir: %w", err)
	}
	s.Templates = ts

	// Links.
	keys := deps.LinkKeys
	if len(cfg.Links.Keys) > 0 {
		keys = nil
		for _, ref := range cfg.Links.Keys {
			k, err := ref.Resolve(deps.LookupEnv, func(p string) ([]byte, error) { return os.ReadFile(path(p)) })
			if err != nil {
				return nil, fmt.Errorf("channels.links.keys: %w", err)
			}
			keys = append(keys, []byte(k))
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("channels.links.keys: no link key (configure one, or let tact derive it from the database's key)")
	}
	signer, err := linktoken.New(linktoken.Config{Keys: keys, TTL: cfg.Links.TTL, Now: deps.Now})
	if err != nil {
		return nil, fmt.Errorf("channels.links: %w", err)
	}
	base := cfg.Links.BaseURL
	if base == "" {
		base = "http://localhost:8080"
	}
	s.Signer = signer
	s.Links = linktoken.Links{BaseURL: base, UnsubscribePath: cfg.Links.UnsubscribePath, PreferencesPath: cfg.Links.PreferencesPath, Signer: signer}

	if err := s.buildEmail(cfg, deps, path); err != nil {
		return nil, err
	}
	secret := func(field string, r channels.SecretRef) (string, error) {
		v, err := r.Resolve(deps.LookupEnv, func(p string) ([]byte, error) { return os.ReadFile(path(p)) })
		if err != nil {
			return "", fmt.Errorf("channels.%s: %w", field, err)
		}
		return v, nil
	}
	if c := cfg.SMS; c != nil {
		token, err := secret("sms.twilio.auth_token", c.Twilio.AuthToken)
		if err != nil {
			return nil, err
		}
		tw, err := sms.NewTwilio(sms.TwilioConfig{
			AccountSID: c.Twilio.AccountSID, AuthToken: token, APIKeySID: c.Twilio.APIKeySID,
			From: c.From, MessagingServiceSID: c.MessagingServiceSID, BaseURL: c.Twilio.BaseURL,
			StatusCallback: c.Twilio.StatusCallback, Templates: ts, Links: s.Links, MaxSegments: c.MaxSegments,
			RatePerSecond: c.RatePerSecond, Gate: deps.Gate, Now: deps.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("channels.sms: %w", err)
		}
		s.Channels[channels.SMS] = tw
		s.TwilioAuthToken = token
		s.SMSInbound = sms.InboundConfig{
			HelpText: c.Inbound.HelpText, StopText: c.Inbound.StopText, StartText: c.Inbound.StartText,
			ExtraStopWords: c.Inbound.ExtraStopWords, ExtraStartWords: c.Inbound.ExtraStartWords,
			ExtraHelpWords: c.Inbound.ExtraHelpWords, Now: deps.Now,
		}
	}
	if c := cfg.Push; c != nil {
		r := &push.Router{}
		if w := c.WebPush; w != nil {
			vapid, err := secret("push.web_push.vapid_private_key", w.VAPIDPrivateKey)
			if err != nil {
				return nil, err
			}
			wp, err := push.NewWebPush(push.WebPushConfig{
				VAPIDPublicKey: w.VAPIDPublicKey, VAPIDPrivateKey: vapid, Subscriber: w.Subscriber,
				TTL: c.TTL, Templates: ts, RatePerSecond: c.RatePerSecond, Gate: deps.Gate, Now: deps.Now,
			})
			if err != nil {
				return nil, fmt.Errorf("channels.push.web_push: %w", err)
			}
			r.WebPush = wp
		}
		if f := c.FCM; f != nil {
			creds, err := secret("push.fcm.credentials", f.Credentials)
			if err != nil {
				return nil, err
			}
			fc, err := push.NewFCM(push.FCMConfig{
				CredentialsJSON: []byte(creds), ProjectID: f.ProjectID, Endpoint: f.Endpoint, TokenURL: f.TokenURL,
				TTL: c.TTL, Templates: ts, RatePerSecond: c.RatePerSecond, Gate: deps.Gate, Now: deps.Now,
			})
			if err != nil {
				return nil, fmt.Errorf("channels.push.fcm: %w", err)
			}
			r.FCM = fc
		}
		s.Channels[channels.Push] = r
	}
	if c := cfg.LINE; c != nil {
		if err := s.buildLINE(c, deps, path); err != nil {
			return nil, err
		}
	}
	if c := cfg.Webhook; c != nil {
		for i, r := range c.Secrets {
			k, err := secret(fmt.Sprintf("webhook.secrets[%d]", i), r)
			if err != nil {
				return nil, err
			}
			s.WebhookSecrets = append(s.WebhookSecrets, []byte(k))
		}
		wh, err := webhook.New(webhook.Config{
			Secrets: s.WebhookSecrets, MaxAttempts: c.MaxAttempts, Timeout: c.Timeout, AllowHTTP: c.AllowHTTP,
			Concurrency: c.Concurrency, Gate: deps.Gate, Now: deps.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("channels.webhook: %w", err)
		}
		s.Channels[channels.Webhook] = wh
	}
	return s, nil
}

func (s *Set) buildEmail(cfg channels.Config, deps Deps, path func(string) string) error {
	e := cfg.Email
	if e == nil {
		e = &channels.EmailConfig{Provider: "file"}
		s.Warnings = append(s.Warnings, "channels.email is not configured: writing .eml files into outbox/")
	}
	from := email.Address{Name: e.From.Name, Address: e.From.Address}
	if from.Address == "" {
		from = email.Address{Name: "Tact Demo", Address: "demo@example.com"}
	}
	ec := email.Config{From: from, ReplyTo: e.ReplyTo, Templates: s.Templates, Links: s.Links, Gate: deps.Gate, Now: deps.Now}
	if d := e.DKIM; d != nil {
		pemText, err := d.PrivateKey.Resolve(deps.LookupEnv, func(p string) ([]byte, error) { return os.ReadFile(path(p)) })
		if err != nil {
			return fmt.Errorf("channels.email.dkim.private_key: %w", err)
		}
		key, err := email.ParseDKIMKey([]byte(pemText))
		if err != nil {
			return fmt.Errorf("channels.email.dkim: %w", err)
		}
		ec.DKIM = &email.DKIMConfig{Domain: d.Domain, Selector: d.Selector, Signer: key}
	}
	switch e.Provider {
	case "smtp":
		sc := e.SMTP
		var password string
		if sc.Password != "" {
			var err error
			if password, err = sc.Password.Resolve(deps.LookupEnv, func(p string) ([]byte, error) { return os.ReadFile(path(p)) }); err != nil {
				return fmt.Errorf("channels.email.smtp.password: %w", err)
			}
		}
		ch, err := email.NewSMTP(ec, email.SMTPConfig{
			Host: sc.Host, Port: sc.Port, TLS: email.TLSMode(sc.TLS), Username: sc.Username, Password: password,
			LocalName: sc.LocalName, EnvelopeFrom: sc.EnvelopeFrom, PoolSize: sc.PoolSize,
			MaxMessagesPerConn: sc.MaxMessagesPerConn, CommandTimeout: sc.Timeout, RatePerSecond: e.RatePerSecond,
		})
		if err != nil {
			return fmt.Errorf("channels.email.smtp: %w", err)
		}
		s.Channels[channels.Email] = ch
		s.closers = append(s.closers, ch)
	default:
		dir := e.File.Dir
		if dir == "" {
			dir = "outbox"
		}
		ch, err := email.NewFile(ec, email.FileConfig{Dir: path(dir)})
		if err != nil {
			return fmt.Errorf("channels.email.file.dir: %w", err)
		}
		s.Channels[channels.Email] = ch
	}
	return nil
}

func (s *Set) buildLINE(c *channels.LINEConfig, deps Deps, path func(string) string) error {
	readFile := func(p string) ([]byte, error) { return os.ReadFile(path(p)) }
	token, err := c.ChannelAccessToken.Resolve(deps.LookupEnv, readFile)
	if err != nil {
		return fmt.Errorf("channels.line.channel_access_token: %w", err)
	}
	secret, err := c.ChannelSecret.Resolve(deps.LookupEnv, readFile)
	if err != nil {
		return fmt.Errorf("channels.line.channel_secret: %w", err)
	}
	var zone *time.Location
	if c.QuotaResetZone != "" {
		if zone, err = time.LoadLocation(c.QuotaResetZone); err != nil {
			return fmt.Errorf("channels.line.quota_reset_zone: %w", err)
		}
	}
	a, err := line.New(line.Config{
		ChannelAccessToken: token, ProviderID: c.ProviderID, BaseURL: c.BaseURL, Templates: s.Templates,
		Concurrency: c.Concurrency, RatePerSecond: c.RatePerSecond, MaxAttempts: c.MaxAttempts, Timeout: c.Timeout,
		QuotaResetZone: zone, NotificationDisabled: c.NotificationDisabled, Gate: deps.Gate, Now: deps.Now,
	})
	if err != nil {
		return fmt.Errorf("channels.line: %w", err)
	}
	s.Channels[line.Name] = a
	s.LINE = a
	s.LINEWebhook = line.WebhookReceiver{Secret: []byte(secret), MaxBytes: c.WebhookMaxBytes}
	return nil
}
