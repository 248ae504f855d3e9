package server

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChooseLang: the link's lang, then the person's locale trait, then
// Accept-Language, then the configured default; anything that names no
// language of the pages is passed over.
func TestChooseLang(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                          string
		explicit, locale, accept, def string
		want                          string
	}{
		{"lang wins over everything", "en", "th-TH", "th", "th", langEN},
		{"lang may be regional", "th-TH", "en", "en", "en", langTH},
		{"locale trait next", "", "th-TH", "en-GB,en;q=0.8", "en", langTH},
		{"posix locale", "", "th_TH.UTF-8", "en", "en", langTH},
		{"unknown lang falls back to the locale", "fr", "th", "en", "en", langTH},
		{"raw input in lang falls back", `"><script>`, "", "th", "en", langTH},
		{"unknown locale falls back to the browser", "", "ja-JP", "th,en;q=0.5", "en", langTH},
		{"browser by quality", "", "", "en;q=0.4,th;q=0.9", "en", langTH},
		{"q=0 is a refusal", "", "", "th;q=0", "en", langEN},
		{"browser wildcard names nothing", "", "", "*", "th", langTH},
		{"configured default last", "", "", "", "th", langTH},
		{"no default: English", "", "", "", "", langEN},
	} {
		require.Equal(t, tc.want, chooseLang(tc.explicit, tc.locale, tc.accept, tc.def), tc.name)
	}
}

var hiddenLang = regexp.MustCompile(`name="lang" value="([^"]*)"`)

// TestPagesSpeakThePersonsLanguage: a person whose locale trait is th-TH
// gets the preference centre and unsubscribe pages in Thai, whatever their
// browser says, and their posts answer in Thai; ?lang= still chooses.
func TestPagesSpeakThePersonsLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "locale": "th-TH"}, "marketing/email")
	english := []string{"Accept-Language", "en-GB,en;q=0.8"}

	prefs := e.link("preferences", id, "marketing", "email")
	resp, body := e.get(prefs, english...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `<html lang="th">`)
	require.Equal(t, "th", resp.Header.Get("Content-Language"))
	require.Contains(t, body, T(langTH, "title"))

	// The link's lang wins; a lang the pages do not have is passed over
	// and never shown.
	_, body = e.get(prefs+"&lang=en", english...)
	require.Contains(t, body, `<html lang="en">`)
	_, body = e.get(prefs+"&lang="+url.QueryEscape(`zz"><b>x`), english...)
	require.Contains(t, body, `<html lang="th">`)
	require.NotContains(t, body, "<b>x")

	// The page's forms carry its language, so the saved notice is Thai.
	_, body = e.get(prefs, english...)
	m := hiddenLang.FindStringSubmatch(body)
	require.Len(t, m, 2)
	require.Equal(t, langTH, m[1])
	tok := mustQuery(t, prefs, "token")
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {tok}, "lang": {m[1]}, "action": {"save"},
		"c.marketing.email": {"withdrawn"}}, english...)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, langTH, mustQuery(t, e.ts.URL+resp.Header.Get("Location"), "lang"))
	_, body = e.get(e.ts.URL+resp.Header.Get("Location"), english...)
	require.Contains(t, body, T(langTH, "saved"))

	// Unsubscribe: the confirmation page and the one-click answer.
	unsub := e.link("unsubscribe", id, "marketing", "email")
	_, body = e.get(unsub, english...)
	require.Contains(t, body, `<html lang="th">`)
	require.Contains(t, body, T(langTH, "unsub_button"))
	resp, body = e.postForm(unsub, url.Values{"List-Unsubscribe": {"One-Click"}}, "Accept", "text/html", english[0], english[1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `<html lang="th">`)
	require.Contains(t, body, `id="result"`)

	// A person without the trait: the browser decides.
	other := e.person(map[string]any{"user_id": "u2", "email": "u2@example.com"}, "marketing/email")
	_, body = e.get(e.link("preferences", other, "marketing", "email"), english...)
	require.Contains(t, body, `<html lang="en">`)
}

// TestDefaultLang: with nothing else to go by, the pages use
// server.default_lang.
func TestDefaultLang(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) { c.DefaultLang = "th" })
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	_, body := e.get(e.link("unsubscribe", id, "marketing", "email"))
	require.Contains(t, body, `<html lang="th">`)
	_, body = e.get(e.ts.URL + "/preferences?token=nonsense")
	require.Contains(t, body, `<html lang="th">`)
}

// TestBrandName: server.brand_name titles the pages and heads them,
// escaped; without it the titles are neutral and name no product.
func TestBrandName(t *testing.T) {
	t.Parallel()
	const brand = `ACME <b>&"Co"`
	const escaped = `ACME &lt;b&gt;&amp;&#34;Co&#34;`
	e := newEnv(t, func(c *Config, _ *Options) { c.BrandName = brand })
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	for _, tc := range []struct{ name, link, lang, title string }{
		{"preferences", e.link("preferences", id, "marketing", "email"), langEN, "Manage your preferences for " + escaped},
		{"preferences in Thai", e.link("preferences", id, "marketing", "email"), langTH, "จัดการการตั้งค่าการติดต่อจาก " + escaped},
		{"unsubscribe", e.link("unsubscribe", id, "marketing", "email"), langEN, "Unsubscribe from " + escaped},
		{"unsubscribe in Thai", e.link("unsubscribe", id, "marketing", "email"), langTH, "ยกเลิกการรับข่าวสารจาก " + escaped},
	} {
		resp, body := e.get(tc.link + "&lang=" + tc.lang)
		require.Equal(t, http.StatusOK, resp.StatusCode, tc.name)
		require.Contains(t, body, "<title>"+tc.title+"</title>", tc.name)
		require.Contains(t, body, "<h1>"+tc.title+"</h1>", tc.name)
		require.Contains(t, body, `<p class="brand">`+escaped+`</p>`, tc.name)
		require.NotContains(t, body, brand, tc.name)
	}

	plain := newEnv(t)
	id = plain.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	_, body := plain.get(plain.link("preferences", id, "marketing", "email") + "&lang=en")
	require.Contains(t, body, "<title>Your communication preferences</title>")
	require.NotContains(t, body, `class="brand"`)
	require.Contains(t, body, "<h1>Your communication preferences</h1>")
}

func mustQuery(t *testing.T, rawURL, key string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Query().Get(key)
}
