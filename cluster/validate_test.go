package cluster_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An ingest node validates as the single process does: same statuses, same
// fields named, nothing published for a refused request.
func TestIngestNodeValidatesAsTheSingleProcess(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	check := connect(t, cfg, "check")
	future := now.Add(48 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name   string
		key    string
		msg    map[string]any
		status int
		field  string
	}{
		{"unknown write key", "nope-nope-nope", map[string]any{"type": "track", "userId": "u", "event": "e"}, http.StatusUnauthorized, ""},
		{"timestamp past the skew", writeKey, map[string]any{"type": "track", "userId": "u", "event": "e", "timestamp": future}, http.StatusBadRequest, "batch[0].timestamp"},
		{"no identifier", writeKey, map[string]any{"type": "track", "event": "e"}, http.StatusBadRequest, "batch[0].userId"},
		{"unknown type", writeKey, map[string]any{"type": "launch", "userId": "u"}, http.StatusBadRequest, "batch[0].type"},
	} {
		body, err := json.Marshal(map[string]any{"batch": []map[string]any{tc.msg}})
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth(tc.key, "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var answer struct {
			Error struct {
				Field string `json:"field"`
			} `json:"error"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
		require.NoError(t, resp.Body.Close())
		require.Equal(t, tc.status, resp.StatusCode, tc.name)
		require.Equal(t, tc.field, answer.Error.Field, tc.name)
	}
	last, err := check.LastSequence(t.Context())
	require.NoError(t, err)
	require.Zero(t, last, "nothing refused was published")
}
