package server

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMalformedTextAnswers400 (item 10): invalid UTF-8, escaped NULs and
// lone surrogates are refused with 400 naming the field, on ingestion and
// the admin API, and nothing is stored (no suppression of a damaged
// address).
func TestMalformedTextAnswers400(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, path string
		body       []byte
		admin      bool
		field      string
	}{
		{"identify invalid utf-8", "/v1/identify", []byte("{\"userId\":\"u1\",\"traits\":{\"email\":\"bad@example.co\xff\"}}"), false, "traits.email"},
		{"track nul in event", "/v1/track", []byte(`{"userId":"u1","event":"buy\u0000now"}`), false, "event"},
		{"batch lone surrogate", "/v1/batch", []byte(`{"batch":[{"type":"track","userId":"u1","event":"ok"},{"type":"track","userId":"u1","event":"x","properties":{"a":"\ud800"}}]}`), false, "batch[1].properties.a"},
		{"suppression invalid utf-8", "/api/v1/suppressions", []byte("{\"kind\":\"email\",\"address\":\"bad@example.co\xff\",\"reason\":\"manual\"}"), true, "address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var code int
			var out []byte
			if tc.admin {
				code, out, _ = e.do("POST", tc.path, tokAdmin, tc.body)
			} else {
				code, out = e.postSegment(testWriteKey, tc.path, tc.body)
			}
			require.Equal(t, 400, code, string(out))
			_, field := errCode(t, out)
			require.Equal(t, tc.field, field, string(out))
		})
	}
	c := e.counts()
	require.Zero(t, c.Profiles)
	require.Zero(t, c.Events)
	require.Zero(t, c.Suppressions)
}

// TestLinkTokenSpellingsAreRefused (item 10): a valid link token with CR,
// LF or a space inserted is refused (400) and withdraws nothing, so one
// token cannot be replayed under many rate-limit keys.
func TestLinkTokenSpellingsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	u, err := url.Parse(e.link("unsubscribe", id, "marketing", "email"))
	require.NoError(t, err)
	tok := u.Query().Get("token")
	for _, bad := range []string{tok[:10] + "\r\n" + tok[10:], tok + "\n", tok[:5] + " " + tok[5:]} {
		resp, body := e.postForm(e.ts.URL+"/unsubscribe?token="+url.QueryEscape(bad), url.Values{"List-Unsubscribe": {"One-Click"}})
		require.Equal(t, 400, resp.StatusCode, body)
	}
	require.True(t, e.granted(id, "marketing", "email"))
}
