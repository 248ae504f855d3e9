package server

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestExportCodeFollowsEligibility: the confirmation code is a
// transactional message decided by the one eligibility decision, so a
// restricted person gets none, on any channel.
func TestExportCodeFollowsEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "phone": "+66812345678"})
	u, _ := url.Parse(e.link("preferences", id, "marketing", "email"))
	tok := u.Query().Get("token")
	_, err := e.store.Restrict(e.ctx, "u1", engine.PrivacyOptions{})
	require.NoError(t, err)
	resp, body := e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {tok}, "lang": {"en"}})
	require.Equal(t, 200, resp.StatusCode, body)
	to, _ := e.codes.last()
	require.Zero(t, to, "no code to a restricted person")
}
