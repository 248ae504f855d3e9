package server

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInertLinksOfTestSends: the links in a test send (?test=1, no token)
// answer that they change nothing, on the page, on one-click and in the
// preference centre, and record nothing.
func TestInertLinksOfTestSends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	ledger := e.counts().ConsentEntries

	resp, body := e.get(e.ts.URL+"/unsubscribe?test=1&lang=th", "Accept-Language", "en")
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, `<html lang="th">`)
	require.Contains(t, body, "ข้อความทดสอบ")
	resp, body = e.get(e.ts.URL + "/preferences?test=1")
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, "This link came in a test message. It changes nothing")
	resp, body = e.postForm(e.ts.URL+"/unsubscribe?test=1", url.Values{"List-Unsubscribe": {"One-Click"}})
	require.Equal(t, 200, resp.StatusCode, body)
	require.JSONEq(t, `{"status":"test_link","changed":false}`, body)

	require.Equal(t, ledger, e.counts().ConsentEntries)
	require.True(t, e.granted(id, "marketing", "email"))
}
