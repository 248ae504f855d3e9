package sms

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// TestPreferencesLinkCarriesThePersonsLanguage: the preference link in an
// SMS names the language of the person's locale trait.
func TestPreferencesLinkCarriesThePersonsLanguage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prefs.sms.txt"), []byte("---\npurpose: marketing\n---\n{{ .preferences_url }}"), 0o600))
	ts, err := templates.Load(dir)
	require.NoError(t, err)
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	tw, err := NewTwilio(TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: "+15005550006", BaseURL: "https://api.twilio.test",
		Templates: ts, Now: func() time.Time { return t0 }, Links: linktoken.Links{BaseURL: "https://prefs.example.com", Signer: signer}})
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		traits map[string]any
		want   string
	}{
		{"thai locale", map[string]any{"locale": "th_TH"}, "th"},
		{"no locale", map[string]any{}, ""},
	} {
		m := channels.Message{ProfileID: 9, Purpose: "marketing", To: "+66812345678", Template: "prefs", Traits: tc.traits}
		text, _, err := tw.Render(m)
		require.NoError(t, err, tc.name)
		u, err := url.Parse(text)
		require.NoError(t, err)
		require.Equal(t, "/preferences", u.Path)
		require.Equal(t, tc.want, u.Query().Get(linktoken.LangParam), tc.name)
	}
}
