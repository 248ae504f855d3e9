package channels

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// TestAddLinks: which links each message carries, built once for every
// adapter and preview; a test send's links act for nobody.
func TestAddLinks(t *testing.T) {
	t.Parallel()
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{[]byte(strings.Repeat("k", 32))}, Now: func() time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	links := linktoken.Links{BaseURL: "https://prefs.example.com", Signer: signer}
	thai := map[string]any{"locale": "th-TH"}
	cases := []struct {
		name           string
		m              Message
		channel        string
		links          linktoken.Links
		unsub, prefs   string // prefixes; "" = none
		token, failing bool
	}{
		{"marketing email", Message{ProfileID: 7, Purpose: "marketing"}, Email, links,
			"https://prefs.example.com/unsubscribe?token=", "https://prefs.example.com/preferences?token=", true, false},
		{"in the person's language", Message{ProfileID: 7, Traits: thai}, Email, links,
			"https://prefs.example.com/unsubscribe?lang=th&token=", "https://prefs.example.com/preferences?lang=th&token=", true, false},
		{"transactional email", Message{ProfileID: 7, Purpose: PurposeTransactional}, Email, links,
			"", "https://prefs.example.com/preferences?token=", false, false},
		{"sms", Message{ProfileID: 7, Purpose: "marketing"}, SMS, links, "", "https://prefs.example.com/preferences?token=", false, false},
		{"push carries none", Message{ProfileID: 7, Purpose: "marketing"}, Push, links, "", "", false, false},
		{"test send", Message{ProfileID: 7, Purpose: "marketing", Test: true}, Email, links,
			"https://prefs.example.com/unsubscribe?test=1", "https://prefs.example.com/preferences?test=1", false, false},
		{"marketing email without links", Message{ProfileID: 7}, Email, linktoken.Links{}, "", "", false, true},
		{"sms without links", Message{ProfileID: 7}, SMS, linktoken.Links{}, "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.m.TemplateData(time.Time{})
			url, tok, err := tc.m.AddLinks(&d, tc.channel, tc.links)
			if tc.failing {
				require.ErrorIs(t, err, linktoken.ErrNoLinks)
				return
			}
			require.NoError(t, err)
			require.Equal(t, d.UnsubscribeURL, url)
			check := func(got, want string) {
				if want == "" {
					require.Empty(t, got)
				} else {
					require.True(t, strings.HasPrefix(got, want), "%s does not start with %s", got, want)
				}
			}
			check(d.UnsubscribeURL, tc.unsub)
			check(d.PreferencesURL, tc.prefs)
			require.Equal(t, tc.token, tok != "")
		})
	}
}

// TestTemplateDataIsTheMessage: every adapter renders with these fields.
func TestTemplateDataIsTheMessage(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	m := Message{ProfileID: 7, Traits: map[string]any{"a": 1}, Payload: map[string]any{"b": 2}, Timezone: "Asia/Bangkok", Journey: "j", Step: "s"}
	require.Equal(t, templates.Data{ProfileID: 7, Traits: m.Traits, Payload: m.Payload, Timezone: "Asia/Bangkok", Now: now, Journey: "j", Step: "s"},
		m.TemplateData(now))
}
