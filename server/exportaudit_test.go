package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestMemberExportsArePurposefulAndAudited (item 5): a member list
// without a purpose carries profile ids only unless the caller is an
// admin; with a purpose it carries contact fields of the consented
// audience. Every export, profile read and consent-history read is in the
// audit log with actor, expression or subject and row count, without the
// expression's literals.
func TestMemberExportsArePurposefulAndAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.person(map[string]any{"user_id": "u1", "email": "gone@example.com"})
	e.person(map[string]any{"user_id": "u2", "email": "u2@example.com"}, "marketing/email")

	for _, f := range []string{"json", "csv", "parquet", "arrow"} {
		code, body, _ := e.do("POST", "/api/v1/segments/members", tokMarketer, map[string]any{"expr": `email != "nobody@example.com"`, "format": f})
		require.Equal(t, 200, code, string(body))
		require.NotContains(t, string(body), "example.com", f)
		require.NotContains(t, string(body), "u1", f)
	}
	code, body, _ := e.do("POST", "/api/v1/segments/members", tokMarketer, map[string]any{"expr": "true", "purpose": "marketing", "channel": "email"})
	require.Equal(t, 200, code, string(body))
	require.Equal(t, `{"email":"u2@example.com","profile_id":2,"user_id":"u2"}`, strings.TrimSpace(string(body)))
	code, body, _ = e.do("POST", "/api/v1/segments/members", tokAdmin, map[string]any{"expr": "true"})
	require.Equal(t, 200, code, string(body))
	require.Contains(t, string(body), "gone@example.com")

	code, body, _ = e.do("GET", "/api/v1/profiles/1/consent/history", tokRead, nil)
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("GET", "/api/v1/profiles/1", tokRead, nil)
	require.Equal(t, 200, code, string(body))

	entries, err := e.store.AuditLog(e.ctx, 0, 0)
	require.NoError(t, err)
	var reads []map[string]any
	for _, en := range entries {
		if en.Action != engine.AuditAdminRead {
			continue
		}
		var d map[string]any
		require.NoError(t, json.Unmarshal([]byte(en.Details), &d))
		d["actor"], d["subject"] = en.Actor, en.Subject
		reads = append(reads, d)
	}
	require.Len(t, reads, 8)
	first := reads[0]
	require.Equal(t, "api:marketer", first["actor"])
	require.Equal(t, "segment members", first["what"])
	require.Equal(t, `email != "?"`, first["expr"])
	require.NotEmpty(t, first["expr_hash"])
	require.Equal(t, "profile_id", first["fields"])
	require.EqualValues(t, 2, first["rows"])
	require.EqualValues(t, 1, reads[4]["rows"])
	require.Equal(t, "contact", reads[5]["fields"])
	require.Equal(t, "consent history", reads[6]["what"])
	require.Equal(t, "profile:1", reads[6]["subject"])
	require.Equal(t, "profile show", reads[7]["what"])
}
