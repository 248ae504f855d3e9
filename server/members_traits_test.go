package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestSegmentMembersTraitsAPI: "traits" and "all_traits" add trait columns
// to a member list, after its fixed columns; a bad trait is refused before
// any work (400 naming the item, nothing exported or audited), and so is
// a contact column in a list a marketer gets without a purpose (403); the
// audit entry names the traits.
func TestSegmentMembersTraitsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "plan": "pro", "age": 41})
	e.person(map[string]any{"user_id": "u2", "email": "u2@example.com", "plan": "free"}, "marketing/email")

	ok := []struct {
		name  string
		token string
		body  map[string]any
		want  string
	}{
		{"admin csv", tokAdmin, map[string]any{"expr": "true", "format": "csv", "traits": []string{"plan", "age"}},
			"profile_id,user_id,email,phone,timezone,plan,age\n1,u1,u1@example.com,,,pro,41\n2,u2,u2@example.com,,,free,\n"},
		{"marketer ids with a trait", tokMarketer, map[string]any{"expr": "true", "traits": []string{"age"}},
			`{"profile_id":1,"age":41}` + "\n" + `{"profile_id":2}` + "\n"},
		{"marketer with a purpose", tokMarketer, map[string]any{"expr": "true", "purpose": "marketing", "channel": "email", "traits": []string{"email", "plan"}},
			`{"profile_id":2,"user_id":"u2","email":"u2@example.com","plan":"free"}` + "\n"},
		{"all traits", tokMarketer, map[string]any{"expr": "true", "format": "csv", "all_traits": true},
			"profile_id,age,plan\n1,41,pro\n2,,free\n"},
	}
	for _, tc := range ok {
		code, body, _ := e.do("POST", "/api/v1/segments/members", tc.token, tc.body)
		require.Equal(t, http.StatusOK, code, "%s: %s", tc.name, body)
		require.Equal(t, tc.want, string(body), tc.name)
	}

	bad := []struct {
		path  string
		token string
		body  map[string]any
		code  int
		field string
	}{
		{"/api/v1/segments/members", tokAdmin, map[string]any{"expr": "true", "traits": []string{"plan", "plann"}}, http.StatusBadRequest, "traits[1]"},
		{"/api/v1/segments/members", tokAdmin, map[string]any{"expr": "true", "traits": []string{"plan", "age", "plan"}}, http.StatusBadRequest, "traits[2]"},
		{"/api/v1/segments/count", tokAdmin, map[string]any{"expr": "true", "traits": []string{"plan"}}, http.StatusBadRequest, "traits"},
		{"/api/v1/segments/check", tokAdmin, map[string]any{"expr": "true", "all_traits": true}, http.StatusBadRequest, "traits"},
		// Contact columns without a purpose stay the admin's.
		{"/api/v1/segments/members", tokMarketer, map[string]any{"expr": "true", "traits": []string{"plan", "email"}}, http.StatusForbidden, "traits[1]"},
	}
	for _, tc := range bad {
		code, body, _ := e.do("POST", tc.path, tc.token, tc.body)
		require.Equal(t, tc.code, code, string(body))
		_, field := errCode(t, body)
		require.Equal(t, tc.field, field, string(body))
	}
	code, body, _ := e.do("POST", "/api/v1/segments/members", tokAdmin, map[string]any{"expr": "true", "traits": []string{"plann"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `unknown trait \"plann\"`)

	entries, err := e.store.AuditLog(e.ctx, 0, 0)
	require.NoError(t, err)
	var exports []map[string]any
	for _, en := range entries {
		if en.Action != engine.AuditAdminRead {
			continue
		}
		var d map[string]any
		require.NoError(t, json.Unmarshal(en.Details, &d))
		exports = append(exports, d)
	}
	require.Len(t, exports, 4, "refused requests export nothing and are not audited as exports")
	require.Equal(t, "contact", exports[0]["fields"])
	require.Equal(t, []any{"plan", "age"}, exports[0]["traits"])
	require.NotContains(t, exports[0], "contact_traits")
	require.Equal(t, "profile_id", exports[1]["fields"])
	require.Equal(t, []any{"age"}, exports[1]["traits"])
	require.Equal(t, []any{"plan"}, exports[2]["traits"], "email is already a column of a list with a purpose")
	require.Equal(t, []any{"age", "plan"}, exports[3]["traits"])
}
