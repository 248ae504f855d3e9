package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/engine"
)

// postAs sends a /v1/batch of msgs with key and returns the status.
func postAs(t *testing.T, url, key string, msgs ...map[string]any) int {
	t.Helper()
	body, err := json.Marshal(map[string]any{"batch": msgs})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// A client write key may not change a profile's email. An ingest node
// cannot know the profile (it holds no data), so the engine refuses that
// record alone: the rest of the batch is written, the refusal is counted.
func TestEngineRefusesClientKeyContactChangeAlone(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	st := openStore(t, filepath.Join(t.TempDir(), "tact.duckdb"))
	check := connect(t, cfg, "check")
	consumer, _ := runConsumer(t, cfg, st, "engine")

	ts := now.Add(-time.Hour).Format(time.RFC3339)
	require.Equal(t, http.StatusOK, postAs(t, url, writeKey,
		map[string]any{"type": "identify", "userId": "u1", "traits": map[string]any{"email": "first@example.com"}, "timestamp": ts}))
	waitConsumed(t, check, consumer)
	require.Equal(t, http.StatusOK, postAs(t, url, "wk-client",
		map[string]any{"type": "identify", "userId": "u1", "traits": map[string]any{"email": "other@example.com"}, "timestamp": ts},
		map[string]any{"type": "track", "userId": "u1", "event": "opened", "messageId": "m-after", "timestamp": ts}))
	waitConsumed(t, check, consumer)

	var emails []string
	rows, err := st.DB().Query(`SELECT value FROM identities WHERE kind = 'email' ORDER BY value`)
	require.NoError(t, err)
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		emails = append(emails, v)
	}
	require.NoError(t, rows.Close())
	require.Equal(t, []string{"first@example.com"}, emails, "the client key's email change is refused")
	require.Equal(t, map[string]int{"m-after": 1}, eventCounts(t, st), "the batch's event is written")
}

// failingPosition fails the first SetStreamPosition after a batch was
// written: a crash between the write and the position. The consumer
// resumes from the old position and the replayed events are recognised by
// their message ids.
type failingPosition struct {
	cluster.Store
	failed atomic.Bool
}

var errCrash = errors.New("simulated crash before the position was stored")

func (f *failingPosition) SetStreamPosition(ctx context.Context, stream string, p engine.StreamPosition) error {
	if f.failed.CompareAndSwap(false, true) {
		return errCrash
	}
	return f.Store.SetStreamPosition(ctx, stream, p)
}

func TestReplayAfterCrashBeforePositionWritesOnce(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1)
	cfg := testConfig(nodes, 1)
	url := startIngestNode(t, cfg, "ingest").URL
	st := openStore(t, filepath.Join(t.TempDir(), "tact.duckdb"))
	check := connect(t, cfg, "check")
	client := &http.Client{Timeout: 30 * time.Second}
	for b := range 3 {
		postUntilAcked(t, client, []string{url}, batchBody("r"+string(rune('a'+b)), 10))
	}
	fp := &failingPosition{Store: st}
	consumer, _ := runConsumer(t, cfg, fp, "engine")
	waitConsumed(t, check, consumer)
	require.True(t, fp.failed.Load(), "the crash happened")
	counts := eventCounts(t, st)
	require.Len(t, counts, 30)
	for id, n := range counts {
		require.Equal(t, 1, n, "event %s stored once", id)
	}
}
