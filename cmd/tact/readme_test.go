package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEConfigIsValid keeps the README's configuration example true:
// it must parse with no unknown key and pass every section's validation.
func TestREADMEConfigIsValid(t *testing.T) {
	// The server section names its secrets as env:NAME.
	t.Setenv("TACT_WRITE_KEY", "wk_readme_example")
	t.Setenv("TACT_SERVER_KEY", "wk_readme_server_example")
	t.Setenv("TACT_READ_TOKEN", "read_token_for_the_readme_example")
	t.Setenv("TACT_ADMIN_TOKEN", "admin_token_for_the_readme_example")
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "## Configuration")
	require.True(t, ok, "README has a Configuration section")
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	require.True(t, ok, "the section has a yaml block")
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)

	cfg, err := parseConfig("README.md", []byte(block))
	require.NoError(t, err)
	require.Equal(t, "TH", cfg.DefaultRegion)
	require.NotEmpty(t, cfg.Retention.Events)
	secrets := func(name string) (string, bool) {
		return map[string]string{
			"SMTP_PASSWORD":    "secret",
			"TACT_LINK_SECRET": strings.Repeat("k", 32),
		}[name], true
	}
	require.NoError(t, cfg.Channels.ValidateWith(secrets))
	require.Equal(t, 2, cfg.Journeys.Caps["email"])
	require.Equal(t, "21:00", cfg.Journeys.QuietHours["sms"].Start)
	require.NoError(t, cfg.Server.Validate())
}
