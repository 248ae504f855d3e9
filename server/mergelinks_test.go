package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestLinksSurviveMerges (item 7): one-click unsubscribe and preference
// links issued for a profile later merged away act on the survivor, found
// through the merge log.
func TestLinksSurviveMerges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	survivor := e.person(map[string]any{"email": "ann@example.com"}, "marketing/email", "marketing/sms")
	merged := e.person(map[string]any{"user_id": "ann", "phone": "+66812345678"}, "marketing/email", "marketing/sms")
	unsub := e.link("unsubscribe", merged, "marketing", "email")
	prefs := e.link("preferences", merged, "marketing", "sms")
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "link", []map[string]any{{"user_id": "ann", "email": "ann@example.com"}})
	require.NoError(t, err)
	id, err := e.store.ResolveUser(e.ctx, "ann")
	require.NoError(t, err)
	require.Equal(t, survivor, id, "the oldest profile survives")
	require.True(t, e.granted(survivor, "marketing", "email"))

	resp, body := e.postForm(unsub, url.Values{"List-Unsubscribe": {"One-Click"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.False(t, e.granted(survivor, "marketing", "email"))
	require.True(t, e.granted(survivor, "marketing", "sms"))

	resp, body = e.get(prefs)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	u, _ := url.Parse(prefs)
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {u.Query().Get("token")}, "action": {"save"}, "c.marketing.sms": {"withdrawn"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.False(t, e.granted(survivor, "marketing", "sms"))
}
