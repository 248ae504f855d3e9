package linktoken

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"th", "th"},
		{"th-TH", "th"},
		{"TH", "th"},
		{"en_US", "en"},
		{"en_US.UTF-8", "en"},
		{" en-GB ", "en"},
		{"de@euro", "de"},
		{"fil-PH", "fil"},
		{"", ""},
		{"*", ""},
		{"english", ""},
		{"e", ""},
		{"t1", ""},
		{"<script>", ""},
		{"ไทย", ""},
	} {
		require.Equal(t, tc.want, Language(tc.in), tc.in)
	}
}

// TestLinksCarryThePersonsLanguage: a link built for a person with a locale
// trait names its language outside the token; the token is unchanged.
func TestLinksCarryThePersonsLanguage(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	base := Links{BaseURL: "https://prefs.example.com", Signer: s}
	for _, tc := range []struct {
		name   string
		traits map[string]any
		want   string
	}{
		{"regional locale", map[string]any{"locale": "th-TH"}, "th"},
		{"posix locale", map[string]any{"locale": "en_US"}, "en"},
		{"no trait", map[string]any{"first_name": "Ann"}, ""},
		{"not text", map[string]any{"locale": 42}, ""},
		{"not a language", map[string]any{"locale": "a&b=c"}, ""},
		{"no traits", nil, ""},
	} {
		l := base.ForPerson(tc.traits)
		for _, build := range []func(int64, string, string) (string, string, error){l.Unsubscribe, l.Preferences} {
			link, tok, err := build(9, "marketing", "email")
			require.NoError(t, err, tc.name)
			u, err := url.Parse(link)
			require.NoError(t, err)
			require.Equal(t, tc.want, u.Query().Get(LangParam), tc.name)
			require.Equal(t, tok, u.Query().Get(QueryParam), tc.name)
			c, err := s.Verify(tok)
			require.NoError(t, err)
			require.Equal(t, int64(9), c.ProfileID)
		}
	}
}
