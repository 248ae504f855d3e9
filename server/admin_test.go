package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryEndpointNeedsItsRole: each admin endpoint refuses no token, a
// bad token, a write key and every role below the one it needs.
func TestEveryEndpointNeedsItsRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens := map[Role]string{RoleRead: tokRead, RoleMarketer: tokMarketer, RoleAdmin: tokAdmin}
	for _, ar := range e.srv.adminRoutes() {
		method, path, _ := strings.Cut(ar.pattern, " ")
		path = strings.NewReplacer("{id}", "1", "{name}", "welcome", "{op}", "export").Replace(path)
		t.Run(ar.pattern, func(t *testing.T) {
			code, body, hdr := e.do(method, path, "", nil)
			require.Equal(t, http.StatusUnauthorized, code, string(body))
			require.NotEmpty(t, hdr.Get("WWW-Authenticate"))
			c, _ := errCode(t, body)
			require.Equal(t, "unauthorized", c)

			code, body, _ = e.do(method, path, "not-a-token-at-all-0000000", nil)
			require.Equal(t, http.StatusUnauthorized, code, string(body))

			code, body, _ = e.do(method, path, testWriteKey, nil)
			require.Equal(t, http.StatusForbidden, code, string(body))

			for _, r := range []Role{RoleRead, RoleMarketer, RoleAdmin} {
				code, body, _ = e.do(method, path, tokens[r], nil)
				if r.allows(ar.role) {
					require.NotContains(t, []int{401, 403}, code, "%s with %s: %s", ar.pattern, r, body)
				} else {
					require.Equal(t, http.StatusForbidden, code, "%s with %s: %s", ar.pattern, r, body)
					c, _ := errCode(t, body)
					require.Equal(t, "forbidden", c)
				}
			}
		})
	}
	// A bearer token is not a write key: ingestion refuses it.
	code, body, _ := e.do("POST", "/v1/track", tokAdmin, map[string]any{"userId": "u", "event": "E"})
	require.Equal(t, http.StatusUnauthorized, code, string(body))
}

// TestAdminValidation: malformed JSON, unknown fields, oversized bodies and
// invalid values get a clear 4xx naming the field, and nothing is written.
func TestAdminValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	before := e.counts()
	huge := `{"user":"u1","purpose":"marketing","channel":"email","status":"granted","source":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"malformed", "POST", "/api/v1/consents", `{"user":"u1",`, 400, "malformed_json", ""},
		{"not json", "POST", "/api/v1/consents", `user=u1`, 400, "malformed_json", ""},
		{"empty", "POST", "/api/v1/consents", ``, 400, "invalid", ""},
		{"unknown field", "POST", "/api/v1/consents", `{"user":"u1","purpose":"marketing","channel":"email","status":"withdrawn","colour":"red"}`, 400, "unknown_field", "colour"},
		{"trailing data", "POST", "/api/v1/consents", `{"user":"u1","purpose":"marketing","channel":"email","status":"withdrawn"} {}`, 400, "invalid", ""},
		{"wrong type", "POST", "/api/v1/consents", `{"user":42,"purpose":"marketing","channel":"email","status":"withdrawn"}`, 400, "invalid", "user"},
		{"oversized", "POST", "/api/v1/consents", huge, 413, "too_large", ""},
		{"grant without purpose", "POST", "/api/v1/consents", `{"user":"u1","channel":"email","status":"granted"}`, 400, "invalid", "purpose"},
		{"unknown purpose", "POST", "/api/v1/consents", `{"user":"u1","purpose":"spam","channel":"email","status":"withdrawn"}`, 400, "invalid", "purpose"},
		{"unknown channel", "POST", "/api/v1/consents", `{"user":"u1","purpose":"marketing","channel":"fax","status":"withdrawn"}`, 400, "invalid", "channel"},
		{"unknown status", "POST", "/api/v1/consents", `{"user":"u1","purpose":"marketing","channel":"email","status":"maybe"}`, 400, "invalid", "status"},
		{"bad time", "POST", "/api/v1/consents", `{"user":"u1","purpose":"marketing","channel":"email","status":"withdrawn","effective_at":"soon"}`, 400, "invalid", "effective_at"},
		{"unknown person", "POST", "/api/v1/consents", `{"user":"nobody","purpose":"marketing","channel":"email","status":"withdrawn"}`, 404, "not_found", "user"},
		{"rectify unknown trait", "POST", "/api/v1/privacy/rectify", `{"user":"u1","set":{"shoe_size":"42"}}`, 400, "invalid", ""},
		{"rectify without set", "POST", "/api/v1/privacy/rectify", `{"user":"u1"}`, 400, "invalid", "set"},
		{"erase unknown person", "POST", "/api/v1/privacy/erase", `{"user":"nobody"}`, 404, "not_found", "user"},
		{"unknown privacy op", "POST", "/api/v1/privacy/forget", `{"user":"u1"}`, 404, "not_found", "op"},
		{"segment without expr", "POST", "/api/v1/segments/count", `{"purpose":"marketing","channel":"email"}`, 400, "invalid", "expr"},
		{"segment bad expr", "POST", "/api/v1/segments/count", `{"expr":"plan ==="}`, 400, "invalid", "expr"},
		{"segment purpose alone", "POST", "/api/v1/segments/count", `{"expr":"true","purpose":"marketing"}`, 400, "invalid", "channel"},
		{"members bad format", "POST", "/api/v1/segments/members", `{"expr":"true","format":"xlsx"}`, 400, "invalid", "format"},
		{"save bad name", "POST", "/api/v1/segments", `{"name":"no spaces please","expr":"true"}`, 400, "invalid", "name"},
		{"suppress bad address", "POST", "/api/v1/suppressions", `{"kind":"email","address":"nope"}`, 400, "invalid", "address"},
		{"suppress bad kind", "POST", "/api/v1/suppressions", `{"kind":"fax","address":"123"}`, 400, "invalid", "kind"},
		{"journey bad spec", "POST", "/api/v1/journeys", "name: x\nsteps: 3\n", 400, "invalid", ""},
		{"journey unknown", "POST", "/api/v1/journeys/nope/pause", ``, 404, "not_found", "name"},
		{"profile bad id", "GET", "/api/v1/profiles/abc", ``, 400, "invalid", "id"},
		{"profile unknown", "GET", "/api/v1/profiles/999999", ``, 404, "not_found", ""},
		{"no such endpoint", "GET", "/api/v1/nothing", ``, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			code, out, _ := e.do(tc.method, tc.path, tokAdmin, body)
			require.Equal(t, tc.status, code, string(out))
			c, f := errCode(t, out)
			require.Equal(t, tc.code, c, string(out))
			if tc.field != "" {
				require.Equal(t, tc.field, f, string(out))
			}
		})
	}
	after := e.counts()
	require.Equal(t, before.ConsentEntries, after.ConsentEntries)
	require.Equal(t, before.Suppressions, after.Suppressions)
	require.Equal(t, before.Profiles, after.Profiles)
	require.True(t, e.granted(id, "marketing", "email"))
}

// TestAdminOperations exercises the admin API end to end.
func TestAdminOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "plan": "pro", "age": 31}, "marketing/email")
	e.person(map[string]any{"user_id": "u2", "email": "u2@example.com", "plan": "free"})

	get := func(path, tok string, v any) {
		t.Helper()
		code, body, _ := e.do("GET", path, tok, nil)
		require.Equal(t, 200, code, string(body))
		require.NoError(t, json.Unmarshal(body, v), string(body))
	}
	post := func(path, tok string, in, v any) {
		t.Helper()
		code, body, _ := e.do("POST", path, tok, in)
		require.Contains(t, []int{200, 201}, code, string(body))
		if v != nil {
			require.NoError(t, json.Unmarshal(body, v), string(body))
		}
	}
	var search struct{ Profiles []map[string]any }
	get("/api/v1/profiles?identity=U1@example.com", tokRead, &search)
	require.Len(t, search.Profiles, 1)
	require.EqualValues(t, id, search.Profiles[0]["id"])

	var show struct {
		Profile    map[string]any
		Identities []map[string]any
	}
	get("/api/v1/profiles/"+itoa(id), tokRead, &show)
	require.Len(t, show.Identities, 2)

	var states struct{ Consents []map[string]any }
	get("/api/v1/profiles/"+itoa(id)+"/consent", tokRead, &states)
	require.NotEmpty(t, states.Consents)
	post("/api/v1/consents", tokAdmin, map[string]any{"user": "u1", "purpose": "marketing", "channel": "email", "status": "withdrawn"}, nil)
	require.False(t, e.granted(id, "marketing", "email"))
	var hist struct{ Entries []map[string]any }
	get("/api/v1/profiles/"+itoa(id)+"/consent/history", tokRead, &hist)
	require.Len(t, hist.Entries, 2)
	require.Equal(t, "api:admin", hist.Entries[1]["actor"])

	var check map[string]any
	post("/api/v1/segments/check", tokRead, map[string]any{"expr": `plan == "pro"`}, &check)
	require.Equal(t, "sql", check["path"])
	var cnt map[string]any
	post("/api/v1/segments/count", tokRead, map[string]any{"expr": `age > 18 or plan == "free"`}, &cnt)
	require.EqualValues(t, 2, cnt["count"])
	post("/api/v1/segments/count", tokRead, map[string]any{"expr": `true`, "purpose": "marketing", "channel": "email"}, &cnt)
	require.EqualValues(t, 0, cnt["count"])
	require.NotNil(t, cnt["removed"])

	for _, f := range []string{"json", "csv", "arrow", "parquet"} {
		code, body, hdr := e.do("POST", "/api/v1/segments/members", tokAdmin, map[string]any{"expr": "true", "format": f})
		require.Equal(t, 200, code, string(body))
		require.Equal(t, memberFormats[f], hdr.Get("Content-Type"))
		switch f {
		case "json":
			require.Equal(t, 2, strings.Count(string(body), "\n"))
			require.Contains(t, string(body), `"user_id":"u2"`)
		case "csv":
			require.True(t, strings.HasPrefix(string(body), "profile_id,"), string(body))
		case "parquet":
			require.Equal(t, "PAR1", string(body[:4]))
		case "arrow":
			require.NotEmpty(t, body)
		}
	}
	var saved map[string]any
	post("/api/v1/segments", tokMarketer, map[string]any{"name": "pros", "expr": `plan == "pro"`}, &saved)
	require.EqualValues(t, 1, saved["members"])
	var list struct{ Segments []map[string]any }
	get("/api/v1/segments", tokRead, &list)
	require.Len(t, list.Segments, 1)

	code, body, _ := e.do("POST", "/api/v1/journeys/validate", tokMarketer, welcomePro)
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("POST", "/api/v1/journeys", tokMarketer, welcomePro)
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("POST", "/api/v1/journeys/welcome-pro/pause", tokMarketer, nil)
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("POST", "/api/v1/journeys/welcome-pro/resume", tokMarketer, nil)
	require.Equal(t, 200, code, string(body))
	var stats map[string]any
	get("/api/v1/journeys/welcome-pro/stats", tokRead, &stats)
	require.Equal(t, "welcome-pro", stats["journey"])

	// api-entry journeys are entered through the API.
	// A transactional journey skips marketing consent: only an admin may
	// publish it, and both the refusal and the publish are audited.
	receipt := "name: receipt\npurpose: transactional\nentry: api\nsteps:\n  - id: mail\n    send: {channel: email, template: receipt}\n"
	code, body, _ = e.do("POST", "/api/v1/journeys", tokMarketer, receipt)
	require.Equal(t, 403, code, string(body))
	c, f := errCode(t, body)
	require.Equal(t, "forbidden", c)
	require.Equal(t, "purpose", f)
	require.Contains(t, string(body), "needs the admin role")
	code, body, _ = e.do("POST", "/api/v1/journeys", tokAdmin, receipt)
	require.Equal(t, 200, code, string(body))
	entries, err := e.store.AuditLog(e.ctx, 0, 1000)
	require.NoError(t, err)
	var actions []string
	for _, a := range entries {
		if a.Subject == "journey:receipt" {
			actions = append(actions, a.Action+" by "+a.Actor)
		}
	}
	require.Equal(t, []string{"journey.refused by api:marketer", "journey.published by api:admin"}, actions)
	var trig map[string]any
	post("/api/v1/journeys/receipt/trigger", tokMarketer, map[string]any{"entries": []any{map[string]any{"user": "u1", "payload": map[string]any{"order": "A-1"}, "ref": "A-1"}}}, &trig)
	require.EqualValues(t, 1, trig["entered"])
	code, body, _ = e.do("POST", "/api/v1/journeys/receipt/trigger", tokMarketer, map[string]any{"entries": []any{map[string]any{"user": "nobody"}}})
	require.Equal(t, 404, code, string(body))
	_, f = errCode(t, body)
	require.Equal(t, "entries[0].user", f)
	code, body, _ = e.do("POST", "/api/v1/journeys/welcome-pro/trigger", tokMarketer, map[string]any{"entries": []any{map[string]any{"user": "u1"}}})
	require.Equal(t, 409, code, string(body))

	post("/api/v1/suppressions", tokAdmin, map[string]any{"kind": "email", "address": "Bounce@Example.com", "reason": "hard_bounce"}, nil)
	var sup map[string]any
	post("/api/v1/suppressions/check", tokRead, map[string]any{"kind": "email", "address": "bounce@example.com"}, &sup)
	require.Equal(t, true, sup["suppressed"])
	post("/api/v1/suppressions/remove", tokAdmin, map[string]any{"kind": "email", "address": "bounce@example.com"}, nil)
	post("/api/v1/suppressions/check", tokRead, map[string]any{"kind": "email", "address": "bounce@example.com"}, &sup)
	require.Equal(t, false, sup["suppressed"])

	var exp map[string]any
	post("/api/v1/privacy/export", tokAdmin, map[string]any{"user": "u1"}, &exp)
	require.Equal(t, "tact.privacy.export/v1", exp["schema"])
	post("/api/v1/privacy/rectify", tokAdmin, map[string]any{"user": "u1", "set": map[string]any{"age": 32}}, nil)
	p, err := e.store.Profile(e.ctx, id)
	require.NoError(t, err)
	require.EqualValues(t, 32, p.Traits["age"])
	post("/api/v1/privacy/restrict", tokAdmin, map[string]any{"user": "u1"}, nil)
	post("/api/v1/privacy/object", tokAdmin, map[string]any{"user": "u1"}, nil)
	p, _ = e.store.Profile(e.ctx, id)
	require.True(t, p.Restricted)
	require.True(t, p.Objected)
	var opened map[string]any
	post("/api/v1/privacy/requests", tokAdmin, map[string]any{"kind": "erase", "user": "u2"}, &opened)
	var reqs struct{ Requests []map[string]any }
	get("/api/v1/privacy/requests", tokAdmin, &reqs)
	require.Len(t, reqs.Requests, 1)
	post("/api/v1/privacy/erase", tokAdmin, map[string]any{"user": "u2", "request_id": opened["id"]}, nil)
	_, err = e.store.ResolveUser(e.ctx, "u2")
	require.Error(t, err)

	var links map[string]any
	post("/api/v1/links", tokAdmin, map[string]any{"user": "u1"}, &links)
	require.Contains(t, links["unsubscribe"], e.ts.URL+"/unsubscribe?token=")
	require.Equal(t, "List-Unsubscribe=One-Click", links["list_unsubscribe_post"])

	var audit struct{ Entries []map[string]any }
	get("/api/v1/audit?limit=1000", tokAdmin, &audit)
	require.NotEmpty(t, audit.Entries)
	for _, en := range audit.Entries {
		raw, _ := json.Marshal(en)
		require.NotContains(t, string(raw), "u1@example.com", "audit entries hold no personal data")
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
