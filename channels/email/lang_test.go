package email

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/linktoken"
)

// TestLinksCarryThePersonsLanguage: a marketing email to a person with a
// locale trait links to pages in their language (List-Unsubscribe and the
// links in the body); without the trait the links name no language.
func TestLinksCarryThePersonsLanguage(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	require.NoError(t, cfg.setDefaults())
	listUnsub := regexp.MustCompile(`List-Unsubscribe: <([^>]+)>`)
	for _, tc := range []struct {
		name, locale, want string
	}{
		{"thai locale", "th-TH", "th"},
		{"posix locale", "en_US", "en"},
		{"no locale", "", ""},
	} {
		m := welcome("somchai@example.net", 7)
		if tc.locale != "" {
			m.Traits["locale"] = tc.locale
		}
		c, err := Compose(&cfg, m)
		require.NoError(t, err, tc.name)
		got := listUnsub.FindStringSubmatch(headerBlock(c.Raw))
		require.Len(t, got, 2, tc.name)
		u, err := url.Parse(got[1])
		require.NoError(t, err)
		require.Equal(t, tc.want, u.Query().Get(linktoken.LangParam), tc.name)
		require.Equal(t, c.UnsubscribeToken, u.Query().Get(linktoken.QueryParam), tc.name)
		if tc.want != "" {
			require.Contains(t, string(c.Raw), "lang="+tc.want, tc.name)
		}
	}
}
