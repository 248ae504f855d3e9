package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestConfigYAML: the section decodes strictly from tact.yaml as
// cmd/tact does (KnownFields) and validates.
func TestConfigYAML(t *testing.T) {
	t.Parallel()
	src := `
server:
  addr: ":9090"
  public_url: https://prefs.example.com
  write_keys: ["wk_0123456789"]
  tokens:
    - {name: ops, role: admin, token: "tok-admin-0123456789abcdefghijk"}
  ingest: {flush_interval: 25ms, max_batch: 1000}
  rate_limit: {per_ip: 5, per_ip_burst: 10}
  shutdown_timeout: 5s
  brand_name: "ACME Coffee"
  default_lang: th
`
	var doc struct {
		Server Config `yaml:"server"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&doc))
	require.NoError(t, doc.Server.Validate())
	require.Equal(t, 25*time.Millisecond, doc.Server.Ingest.FlushInterval)
	require.Equal(t, RoleAdmin, doc.Server.Tokens[0].Role)
	require.Equal(t, "privacy@prefs.example.com", doc.Server.CodeFromAddress())
	require.Equal(t, "ACME Coffee", doc.Server.BrandName)
	require.Equal(t, langTH, doc.Server.withDefaults().DefaultLang)
	require.Equal(t, langEN, (&Config{}).withDefaults().DefaultLang)

	bad := []struct{ name, yaml, want string }{
		{"unknown key", "server: {colour: red}", "colour"},
		{"bad role", "server: {tokens: [{name: x, role: root, token: tok-0123456789abcdefghijklmn}]}", "role"},
		{"short token", "server: {tokens: [{name: x, role: read, token: short}]}", "too short"},
		{"link keys live in channels.links", "server: {link_keys: [abcd]}", "link_keys"},
		{"the Twilio token lives in channels.sms", "server: {twilio_auth_token: env:TWILIO_AUTH_TOKEN}", "twilio_auth_token"},
		{"keyword replies live in channels.sms", "server: {sms_help_text: Reply STOP}", "sms_help_text"},
		{"http public url", "server: {public_url: 'http://prefs.example.com'}", "https"},
		{"a language the pages do not have", "server: {default_lang: fr}", `server.default_lang: "fr"`},
		{"a brand name on two lines", `server: {brand_name: "ACME\nCoffee"}`, "server.brand_name: control character U+000A at byte 4"},
		{"a brand name too long", "server: {brand_name: " + strings.Repeat("A", 101) + "}", "server.brand_name: 101 characters, at most 100"},
	}
	for _, tc := range bad {
		var d struct {
			Server Config `yaml:"server"`
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(tc.yaml)))
		dec.KnownFields(true)
		err := dec.Decode(&d)
		if err == nil {
			err = d.Server.Validate()
		}
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// TestSecretsByReference: server credentials take the same references as
// every other secret, env:NAME and file:PATH.
func TestSecretsByReference(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(f, []byte("tok-from-a-file-0123456789abcdef\n"), 0o600))
	c := Config{Tokens: []TokenConfig{{Name: "ops", Role: RoleAdmin, Token: "file:" + f}}}
	require.NoError(t, c.Validate())
	require.Equal(t, "tok-from-a-file-0123456789abcdef", secret(c.Tokens[0].Token))
	missing := Config{Tokens: []TokenConfig{{Name: "ops", Role: RoleAdmin, Token: "file:" + f + ".missing"}}}
	require.ErrorContains(t, missing.Validate(), "server.tokens[0].token: too short")
}
