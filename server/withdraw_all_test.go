package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStopAllMarketingWithdrawsEveryChannel (item 1): the preference
// centre's "stop all marketing" records one withdraw-all (*/*), so a
// marketing/* grant no longer holds on sms, push or webhook either; the
// admin API records a withdraw-all for a body without purpose and channel
// and refuses such a grant naming the field.
func TestStopAllMarketingWithdrawsEveryChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/*")
	require.True(t, e.granted(id, "marketing", "push"))
	u, _ := url.Parse(e.link("preferences", id, "marketing", "email"))
	resp, _ := e.postForm(e.ts.URL+"/preferences", url.Values{"token": {u.Query().Get("token")}, "action": {"withdraw_all"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, ch := range []string{"email", "sms", "push", "webhook"} {
		require.False(t, e.granted(id, "marketing", ch), ch)
	}
	ledger, err := e.store.ConsentLedger(e.ctx, id)
	require.NoError(t, err)
	last := ledger[len(ledger)-1]
	require.Equal(t, [3]string{"*", "*", "withdrawn"}, [3]string{last.Purpose, last.Channel, string(last.Status)})

	id2 := e.person(map[string]any{"user_id": "u2", "email": "u2@example.com"}, "marketing/*")
	code, body, _ := e.do("POST", "/api/v1/consents", tokAdmin, map[string]any{"user": "u2", "status": "withdrawn"})
	require.Equal(t, 200, code, string(body))
	require.False(t, e.granted(id2, "marketing", "sms"))
	code, body, _ = e.do("POST", "/api/v1/consents", tokAdmin, map[string]any{"user": "u2", "purpose": "marketing", "status": "granted"})
	require.Equal(t, 400, code, string(body))
	_, field := errCode(t, body)
	require.Equal(t, "channel", field)
}
