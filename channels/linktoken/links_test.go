package linktoken

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkBuild compares the link written directly with the one net/url
// builds, whichever way build takes for base and path.
func checkBuild(t *testing.T, s *Signer, base, path, lang string, profileID int64) {
	t.Helper()
	l := Links{BaseURL: base, UnsubscribePath: path, Signer: s, Lang: lang}
	link, tok, err := l.Unsubscribe(profileID, "marketing", "email")
	full := path
	if full == "" {
		full = DefaultUnsubscribePath
	}
	wantLink, wantTok, wantErr := l.buildParsed(strings.TrimRight(base, "/"), full, profileID, "marketing", "email")
	if wantErr != nil {
		require.Error(t, err, "base %q path %q", base, path)
		return
	}
	require.NoError(t, err, "base %q path %q", base, path)
	require.Equal(t, wantLink, link, "base %q path %q lang %q", base, path, lang)
	require.Equal(t, wantTok, tok)
}

var buildCases = []struct{ base, path string }{ //nolint:gochecknoglobals // read-only test table
	{"https://prefs.example.com", ""},
	{"https://prefs.example.com/", "/u"},
	{"https://prefs.example.com/tact///", "/un-sub_scribe.v1~x"},
	{"http://127.0.0.1:8080", "/unsubscribe"},
	{"https://Prefs.Example.com", "/u"},
	{"HTTPS://prefs.example.com", "/u"},
	{"https://prefs.example.com:", "/u"},
	{"https://prefs.example.com", "unsubscribe"},
	{"https://prefs.example.com", "/a//b"},
	{"https://prefs.example.com", "/u/"},
	{"https://prefs.example.com", "/./../u"},
	{"https://prefs.example.com", "/u?x=1"},
	{"https://prefs.example.com", "/u#frag"},
	{"https://prefs.example.com", "/caf%C3%A9 x"},
	{"https://user@prefs.example.com", "/u"},
	{"https://[::1]:8443", "/u"},
	{"ftp://prefs.example.com", "/u"},
	{"prefs.example.com", "/u"},
}

func TestBuildMatchesNetURL(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	for _, tc := range buildCases {
		for _, lang := range []string{"", "th", "th-TH", "zz_ZZ.UTF-8", "x"} {
			checkBuild(t, s, tc.base, tc.path, lang, 42)
		}
	}
}

func FuzzBuild(f *testing.F) {
	for _, tc := range buildCases {
		f.Add(tc.base, tc.path, "th", int64(7))
	}
	f.Fuzz(func(t *testing.T, base, path, lang string, profileID int64) {
		if base == "" || profileID < 0 {
			return
		}
		checkBuild(t, signerAt(t, t0, key1), base, path, lang, profileID)
	})
}
