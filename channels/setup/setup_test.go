package setup

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/line"
)

const fullYAML = `
channels:
  templates: {dir: ../../testdata/templates}
  links:
    base_url: https://prefs.example.com
    keys: ["env:TACT_LINK_SECRET"]
    ttl: 2160h
  email:
    provider: smtp
    from: {name: "ร้านกาแฟ Tact", address: hello@coffee.example.com}
    rate_per_second: 50
    smtp:
      host: 127.0.0.1
      port: 2525
      tls: none
      username: tact
      password: env:SMTP_PASSWORD
      pool_size: 8
  sms:
    provider: twilio
    from: "+15005550006"
    twilio: {account_sid: AC123, auth_token: "env:TWILIO_AUTH_TOKEN"}
    inbound:
      help_text: "Tact Coffee: reply STOP to cancel"
      stop_text: "Unsubscribed."
      extra_stop_words: ["ยกเลิก"]
  push:
    web_push:
      vapid_public_key: BExamplePublicKey
      vapid_private_key: env:VAPID_PRIVATE_KEY
      subscriber: ops@coffee.example.com
  webhook:
    secrets: ["env:WEBHOOK_SECRET"]
  line:
    channel_access_token: env:LINE_TOKEN
    channel_secret: env:LINE_SECRET
    provider_id: "2001234567"
`

func env(m map[string]string) channels.LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var fullEnv = map[string]string{
	"TACT_LINK_SECRET":  strings.Repeat("k", 32),
	"SMTP_PASSWORD":     "pw",
	"TWILIO_AUTH_TOKEN": "tok",
	"VAPID_PRIVATE_KEY": "priv",
	"WEBHOOK_SECRET":    strings.Repeat("w", 16),
	"LINE_TOKEN":        "line-token",
	"LINE_SECRET":       "line-secret",
}

func parse(t *testing.T, src string) channels.Config {
	t.Helper()
	var doc struct {
		Channels channels.Config `yaml:"channels"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&doc))
	return doc.Channels
}

func TestBuildFull(t *testing.T) {
	t.Parallel()
	cfg := parse(t, fullYAML)
	require.Equal(t, 90*24*time.Hour, cfg.Links.TTL)
	require.Equal(t, 8, cfg.Email.SMTP.PoolSize)
	wd, _ := os.Getwd()
	set, err := Build(cfg, Deps{LookupEnv: env(fullEnv), BaseDir: wd})
	require.NoError(t, err)
	defer set.Close()
	for _, n := range []string{"email", "sms", "push", "webhook", "line"} {
		ch, ok := set.Get(n)
		require.True(t, ok, n)
		require.Equal(t, n, ch.Name())
	}
	require.Equal(t, "tok", set.TwilioAuthToken)
	require.Equal(t, []string{"ยกเลิก"}, set.SMSInbound.ExtraStopWords)
	require.Empty(t, set.Warnings)
	u, tok, err := set.Links.Unsubscribe(1, "marketing", "email")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, "https://prefs.example.com/unsubscribe?token="))
	c, err := set.Signer.Verify(tok)
	require.NoError(t, err)
	require.EqualValues(t, 1, c.ProfileID)
}

func TestBuildZeroConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../../testdata/templates")))
	set, err := Build(channels.Config{}, Deps{LookupEnv: env(nil), BaseDir: dir, LinkKeys: [][]byte{[]byte(strings.Repeat("d", 32))}})
	require.NoError(t, err)
	require.Len(t, set.Warnings, 1)
	// Without a configured or derived link key Build refuses: a random key
	// would kill every link already sent at the next restart.
	_, err = Build(channels.Config{}, Deps{LookupEnv: env(nil), BaseDir: dir})
	require.ErrorContains(t, err, "channels.links.keys: no link key")
	ch, ok := set.Get("email")
	require.True(t, ok)
	res := ch.Send(context.Background(), []channels.Message{{
		IdempotencyKey: "k1", ProfileID: 1, Purpose: "marketing", To: "a@example.net", Template: "welcome",
	}})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	entries, err := os.ReadDir(filepath.Join(dir, "outbox"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	_, ok = set.Get("sms")
	require.False(t, ok)
}

func TestValidateNamesKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"smtp without host and links", `
channels:
  email: {provider: smtp, from: {address: hello@example.com}}`, nil, []string{
			"channels.links.base_url: required with the smtp email provider",
			"channels.email.smtp.host: required",
		}},
		{"wrong values", `
channels:
  links: {base_url: "http://prefs.example.com", keys: ["env:K"], ttl: 240h}
  email:
    provider: sendmail
    from: {address: "not an address"}
  sms:
    provider: nexmo
    from: "0812345678"
    twilio: {account_sid: XX1, auth_token: "env:MISSING"}
  push: {}
  webhook: {secrets: ["env:SHORT"]}
  line:
    channel_access_token: "a-token-pasted-inline"
    channel_secret: env:NOPE
    base_url: "http://api.line.example.com"
    max_attempts: -1
    quota_reset_zone: Mars/Olympus
`, map[string]string{"K": "short", "SHORT": "abc"}, []string{
			`channels.links.base_url: must be an absolute https URL`,
			"channels.links.keys[0]: the value of K is shorter than 32 bytes",
			"channels.links.ttl: must be at least 1440h",
			`channels.email.provider: must be file or smtp, got "sendmail"`,
			"channels.email.from.address: not a valid email address",
			`channels.sms.provider: must be twilio, got "nexmo"`,
			"channels.sms.from: must be an E.164 number",
			"channels.sms.twilio.account_sid: must start with AC",
			"channels.sms.twilio.auth_token: environment variable MISSING is not set",
			"channels.sms.inbound.help_text: required",
			"channels.push: configure web_push, fcm or both",
			"channels.webhook.secrets[0]: the value of SHORT is shorter than 16 bytes",
			`channels.line.channel_access_token: must be "env:NAME" or "file:PATH" (never the secret itself)`,
			"channels.line.channel_secret: environment variable NOPE is not set",
			"channels.line.provider_id: required",
			"channels.line.base_url: must be an https URL",
			"channels.line.max_attempts: must not be negative",
			`channels.line.quota_reset_zone: unknown time zone "Mars/Olympus"`,
		}},
		{"smtp tls none to remote host, password without env", `
channels:
  links: {base_url: "https://p.example.com", keys: ["env:K"]}
  email:
    provider: smtp
    from: {address: a@example.com}
    smtp: {host: smtp.example.com, tls: none, username: u}
    dkim: {domain: example.com}`, map[string]string{"K": strings.Repeat("k", 32)}, []string{
			"channels.email.smtp.tls: none is only allowed for a loopback host",
			"channels.email.smtp.password: required",
			"channels.email.dkim.selector: required",
			"channels.email.dkim.private_key: required",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, tc.yaml)
			err := cfg.ValidateWith(env(tc.env))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), err.Error())
			var ce *channels.ConfigError
			require.ErrorAs(t, err, &ce)
		})
	}
	require.NoError(t, parse(t, fullYAML).ValidateWith(env(fullEnv)))
}

func TestBuildLINE(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sentMessages":[{"id":"1","quoteToken":"q"}]}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../../testdata/templates")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "line_secret"), []byte("s3cret\n"), 0o600))
	cfg := parse(t, `
channels:
  line:
    channel_access_token: env:LINE_TOKEN
    channel_secret: file:line_secret
    provider_id: "2001234567"
    base_url: `+srv.URL+`
    timeout: 5s
    quota_reset_zone: Asia/Bangkok`)
	set, err := Build(cfg, Deps{LookupEnv: env(map[string]string{"LINE_TOKEN": "tok-1"}), BaseDir: dir, LinkKeys: [][]byte{[]byte(strings.Repeat("d", 32))}})
	require.NoError(t, err)
	require.NotNil(t, set.LINE)
	ch, ok := set.Get("line")
	require.True(t, ok)
	require.Equal(t, "2001234567", set.LINE.ProviderID())
	res := ch.Send(context.Background(), []channels.Message{{
		IdempotencyKey: "k1", ProfileID: 1, Purpose: "marketing", To: "U0123456789abcdef0123456789abcdef", Template: "line_welcome",
	}})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, "Bearer tok-1", auth.Load())

	body := []byte(`{"destination":"U","events":[]}`)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/line", bytes.NewReader(body))
	req.Header.Set(line.SignatureHeader, line.Sign([]byte("s3cret"), body))
	_, err = set.LINEWebhook.Read(req)
	require.NoError(t, err, "the secret comes from the file, newline trimmed")

	require.NoError(t, os.Remove(filepath.Join(dir, "line_secret")))
	_, err = Build(cfg, Deps{LookupEnv: env(map[string]string{"LINE_TOKEN": "tok-1"}), BaseDir: dir, LinkKeys: [][]byte{[]byte(strings.Repeat("d", 32))}})
	require.ErrorIs(t, err, channels.ErrSecretRef)
	require.Contains(t, err.Error(), "channels.line.channel_secret")
	require.NotContains(t, err.Error(), "tok-1")
}

// TestSecretsByFile: every secret is a reference, "env:NAME" or
// "file:PATH" (relative to the configuration), in every section.
func TestSecretsByFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../../testdata/templates")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "twilio.token"), []byte("twilio-token-from-a-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("a-webhook-secret-from-a-file"), 0o600))
	cfg := parse(t, `
channels:
  sms:
    provider: twilio
    from: "+15005550006"
    twilio: {account_sid: AC123, auth_token: "file:twilio.token"}
    inbound: {help_text: "help"}
  webhook: {secrets: ["file:hook.secret"]}
`)
	set, err := Build(cfg, Deps{LookupEnv: env(nil), BaseDir: dir, LinkKeys: [][]byte{[]byte(strings.Repeat("d", 32))}})
	require.NoError(t, err)
	require.Equal(t, "twilio-token-from-a-file", set.TwilioAuthToken)
	require.Equal(t, [][]byte{[]byte("a-webhook-secret-from-a-file")}, set.WebhookSecrets)
	// A secret written inline is refused with its key.
	bad := parse(t, "channels:\n  webhook: {secrets: [\"a-webhook-secret-inline\"]}\n")
	err = bad.ValidateWith(env(nil))
	require.ErrorContains(t, err, `channels.webhook.secrets[0]: must be "env:NAME" or "file:PATH"`)
}
