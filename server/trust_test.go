package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/engine"
)

const testServerKey = "wk_server_0123456789"

// ingestWith posts a Segment body with the given write key.
func (e *env) ingestWith(key, path string, body any) (int, []byte) {
	e.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(e.t, err)
	return e.postSegment(key, path, raw)
}

// postSegment posts raw bytes to a Segment endpoint with a write key.
func (e *env) postSegment(key, path string, raw []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.ts.URL+path, bytes.NewReader(raw))
	require.NoError(e.t, err)
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

func (e *env) emails(id int64) []string {
	e.t.Helper()
	ids, err := e.store.Identities(e.ctx, id)
	require.NoError(e.t, err)
	var out []string
	for _, i := range ids {
		if i.Kind == engine.KindEmail {
			out = append(out, i.Value)
		}
	}
	return out
}

// TestClientKeyCannotTakeOverAPerson (item 6): with a client write key,
// identify may add events, anonymous ids and non-contact traits but not
// change or add the email, phone or user_id of a profile that has one,
// directly or through a merge (403 naming the field, counted); a server
// key may. The data-download code goes only to an address a trusted
// source reported.
func TestClientKeyCannotTakeOverAPerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) {
		c.WriteKeys = append(c.WriteKeys, WriteKey{Key: testServerKey, Trust: TrustServer})
	})
	victim := e.person(map[string]any{"user_id": "victim", "email": "victim@example.com"}, "marketing/email")
	e.person(map[string]any{"user_id": "carol", "phone": "+66812345671"})

	refused := []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"change email", "/v1/identify", map[string]any{"userId": "victim", "traits": map[string]any{"email": "attacker@evil.example"}}, "traits.email"},
		{"change phone", "/v1/identify", map[string]any{"userId": "carol", "traits": map[string]any{"phone": "+66812345670"}}, "traits.phone"},
	}
	for _, tc := range refused {
		code, body := e.ingest(tc.path, tc.body)
		require.Equal(t, http.StatusForbidden, code, "%s: %s", tc.name, body)
		_, field := errCode(t, body)
		require.Equal(t, tc.field, field, tc.name)
	}
	require.Equal(t, []string{"victim@example.com"}, e.emails(victim))

	// Allowed: non-contact traits, an anonymous id, events.
	code, body := e.ingest("/v1/identify", map[string]any{"userId": "victim", "anonymousId": "anon-1", "traits": map[string]any{"plan": "pro"}})
	require.Equal(t, 200, code, string(body))
	code, body = e.ingest("/v1/track", map[string]any{"anonymousId": "anon-1", "event": "viewed"})
	require.Equal(t, 200, code, string(body))

	// A merge that would bring another email onto the victim is refused.
	code, body = e.ingest("/v1/identify", map[string]any{"anonymousId": "anon-2", "traits": map[string]any{"email": "attacker2@evil.example"}})
	require.Equal(t, 200, code, string(body))
	code, body = e.ingest("/v1/alias", map[string]any{"userId": "victim", "previousId": "anon-2"})
	require.Equal(t, http.StatusForbidden, code, string(body))
	require.Equal(t, []string{"victim@example.com"}, e.emails(victim))
	_, metrics := e.get(e.ts.URL + "/metrics")
	require.True(t, strings.Contains(metrics, `tact_ingest_rejected_total{reason="client_key_email"} 2`))

	// A server key may change contact identifiers.
	code, body = e.ingestWith(testServerKey, "/v1/identify", map[string]any{"userId": "victim", "traits": map[string]any{"email": "victim@new.example"}})
	require.Equal(t, 200, code, string(body))
	require.Contains(t, e.emails(victim), "victim@new.example")

	// A client key may add an email to a profile without one, but the
	// download code never goes to it until a trusted source reports it.
	bob := e.person(map[string]any{"user_id": "bob"})
	code, body = e.ingest("/v1/identify", map[string]any{"userId": "bob", "traits": map[string]any{"email": "bob@claimed.example"}})
	require.Equal(t, 200, code, string(body))
	u, _ := url.Parse(e.link("preferences", bob, "marketing", "email"))
	resp, page := e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {u.Query().Get("token")}})
	require.Equal(t, 200, resp.StatusCode, page)
	to, _ := e.codes.last()
	require.Empty(t, to.Address, "no code to a client-reported address")
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "crm", []map[string]any{{"user_id": "bob", "email": "bob@claimed.example"}})
	require.NoError(t, err)
	resp, page = e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {u.Query().Get("token")}})
	require.Equal(t, 200, resp.StatusCode, page)
	to, _ = e.codes.last()
	require.Equal(t, "bob@claimed.example", to.Address)
}

// TestWriteKeyConfigForms: write_keys takes plain strings (client keys)
// and {key, trust} objects, refusing unknown fields and trust levels.
func TestWriteKeyConfigForms(t *testing.T) {
	t.Parallel()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("write_keys:\n  - wk_browser_123456\n  - {key: wk_backend_123456, trust: server}\n  - {key: wk_app_1234567, trust: client}\n"))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	require.NoError(t, c.Validate())
	var trusts []Trust
	for _, k := range c.WriteKeys {
		trusts = append(trusts, k.Trust)
	}
	require.Equal(t, []Trust{TrustClient, TrustServer, TrustClient}, trusts)
	for _, bad := range []string{"write_keys:\n  - {key: k1234567890, trust: root}\n", "write_keys:\n  - {key: k1234567890, level: server}\n", "write_keys:\n  - {trust: server}\n"} {
		var c Config
		require.Error(t, yaml.Unmarshal([]byte(bad), &c), bad)
	}
}
