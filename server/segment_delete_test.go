package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeleteSavedSegments: a marketer deletes a saved segment through the
// API and the console (the console asks for a confirmation first); a
// segment another one uses is refused; a reader cannot delete; every
// deletion is audited.
func TestDeleteSavedSegments(t *testing.T) {
	e := consoleEnv(t)
	e.person(map[string]any{"user_id": "ada", "plan": "pro"})
	for _, s := range []map[string]any{{"name": "pros", "expr": `plan == "pro"`}, {"name": "pros2", "expr": `in_segment("pros")`}, {"name": "temp", "expr": `true`}} {
		code, body, _ := e.do("POST", "/api/v1/segments", tokMarketer, s)
		require.Equal(t, 200, code, string(body))
	}
	code, body, _ := e.do("DELETE", "/api/v1/segments/pros", tokMarketer, nil)
	require.Equal(t, http.StatusConflict, code, string(body))
	require.Contains(t, string(body), "pros2")
	code, _, _ = e.do("DELETE", "/api/v1/segments/temp", tokRead, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, body, _ = e.do("DELETE", "/api/v1/segments/temp", tokMarketer, nil)
	require.Equal(t, 200, code, string(body))
	code, _, _ = e.do("DELETE", "/api/v1/segments/temp", tokMarketer, nil)
	require.Equal(t, http.StatusNotFound, code)

	u := signIn(t, e, tokMarketer)
	code, _, resp := u.post("/console/segments/saved/pros2/delete", url.Values{})
	require.Equal(t, http.StatusSeeOther, code)
	require.Contains(t, resp.Header.Get("Location"), "confirm=1", "no confirmation, no deletion")
	code, _, resp = u.post("/console/segments/saved/pros2/delete", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/console/segments?deleted=pros2", resp.Header.Get("Location"))
	list, err := e.srv.segments.List(e.ctx)
	require.NoError(t, err)
	require.Len(t, list.Segments, 1)
	require.Equal(t, "pros", list.Segments[0].Name)

	entries, err := e.store.AuditLog(e.ctx, 0, 1000)
	require.NoError(t, err)
	var deleted []string
	for _, a := range entries {
		if a.Action == "segment.deleted" {
			deleted = append(deleted, a.Subject)
		}
	}
	require.Equal(t, []string{"segment:temp", "segment:pros2"}, deleted)
}
