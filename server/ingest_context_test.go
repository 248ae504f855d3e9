package server

import (
	"database/sql"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSegmentContextStoredApart: a message's context object (the batch's
// merged under the message's own) is stored in events.context, without the
// IP address, user agent, device id or referrer (data minimisation), and
// the properties hold only what the caller sent as properties, for every
// message type that stores an event.
func TestSegmentContextStoredApart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	batch := map[string]any{
		"context": map[string]any{"library": map[string]any{"name": "analytics.js"}, "locale": "en-GB"},
		"batch": []any{
			map[string]any{"type": "track", "userId": "ctx-1", "event": "Added to Cart", "messageId": "c-1", "timestamp": "2026-03-02T08:00:00Z",
				"properties": map[string]any{"sku": "A-1", "price": 12.5},
				"context": map[string]any{"ip": "203.0.113.9", "userAgent": "Mozilla/5.0", "device": map[string]any{"id": "dev-42", "type": "ios"},
					"page": map[string]any{"path": "/cart", "referrer": "https://mail.example/inbox?u=ada"}, "locale": "fr-FR"}},
			map[string]any{"type": "page", "userId": "ctx-1", "name": "Home", "messageId": "c-2", "timestamp": "2026-03-02T08:01:00Z"},
			map[string]any{"type": "track", "userId": "ctx-1", "event": "Own Context Key", "messageId": "c-3", "timestamp": "2026-03-02T08:02:00Z",
				"properties": map[string]any{"context": "the caller's own"}},
		},
	}
	code, body := e.ingest("/v1/batch", batch)
	require.Equal(t, http.StatusOK, code, string(body))

	tests := []struct {
		messageID, properties, context string
	}{
		{"c-1", `{"sku":"A-1","price":12.5}`,
			`{"device":{"type":"ios"},"page":{"path":"/cart"},"locale":"fr-FR","library":{"name":"analytics.js"}}`},
		{"c-2", `{"name":"Home"}`, `{"library":{"name":"analytics.js"},"locale":"en-GB"}`},
		{"c-3", `{"context":"the caller's own"}`, `{"library":{"name":"analytics.js"},"locale":"en-GB"}`},
	}
	for _, tc := range tests {
		var props, evCtx sql.NullString
		require.NoError(t, e.store.DB().QueryRowContext(e.ctx,
			`SELECT properties::VARCHAR, context::VARCHAR FROM events WHERE message_id = ?`, tc.messageID).Scan(&props, &evCtx))
		require.JSONEq(t, tc.properties, props.String, tc.messageID)
		require.True(t, evCtx.Valid, tc.messageID)
		require.JSONEq(t, tc.context, evCtx.String, tc.messageID)
	}

	// Without a context the column stays NULL.
	code, body = e.ingest("/v1/track", map[string]any{"userId": "ctx-1", "event": "Bare", "messageId": "c-4", "timestamp": "2026-03-02T08:03:00Z"})
	require.Equal(t, http.StatusOK, code, string(body))
	var evCtx sql.NullString
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT context::VARCHAR FROM events WHERE message_id = 'c-4'`).Scan(&evCtx))
	require.False(t, evCtx.Valid)
}
