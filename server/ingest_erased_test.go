package server

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestASDKRetryAfterErasureMakesNobodyKnown: an SDK that did not see its
// answer sends the same batch again, possibly after the person was erased.
// Its identify, alias and track messages carry the message ids stored the
// first time, so the retry writes nothing and the erased person stays
// unknown; their next message (a new message id) is new activity.
func TestASDKRetryAfterErasureMakesNobodyKnown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	batch := map[string]any{"batch": []any{
		map[string]any{"type": "identify", "userId": "u7", "messageId": "id-1",
			"traits": map[string]any{"email": "seven@example.com", "firstName": "Seven"}},
		map[string]any{"type": "alias", "userId": "u7", "previousId": "anon-7", "messageId": "id-2"},
		map[string]any{"type": "track", "userId": "u7", "event": "Signed Up", "messageId": "id-3"},
	}}
	code, body := e.ingest("/v1/batch", batch)
	require.Equal(t, http.StatusOK, code, string(body))
	known := e.counts()
	require.Equal(t, 1, known.Profiles)

	code, body = e.ingest("/v1/batch", batch)
	require.Equal(t, http.StatusOK, code, string(body), "a retry is answered as the first send was")
	require.Equal(t, known, e.counts(), "a retry changes nothing")

	code, body, _ = e.do("POST", "/api/v1/privacy/erase", tokAdmin, map[string]any{"user": "u7"})
	require.Equal(t, http.StatusOK, code, string(body))
	erased := e.counts()
	require.Zero(t, erased.Profiles)

	code, body = e.ingest("/v1/batch", batch)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, erased, e.counts(), "the retry after erasure writes nothing")
	for _, who := range []string{"u7", "seven@example.com", "anon-7"} {
		_, err := e.store.ResolveUser(e.ctx, who)
		require.ErrorAs(t, err, new(*engine.NotFoundError), who)
	}

	code, body = e.ingest("/v1/identify", map[string]any{"userId": "u7", "messageId": "id-4", "traits": map[string]any{"plan": "pro"}})
	require.Equal(t, http.StatusOK, code, string(body))
	_, err := e.store.ResolveUser(e.ctx, "u7")
	require.NoError(t, err, "a new message is new activity")
}
