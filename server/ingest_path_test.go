package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestGroupCommitUsesIngestPath: with a store that has the ingestion path,
// concurrent requests' events are written by a few Ingest calls (not the
// file import), each request answered once its events are readable, and a
// replayed messageId is stored once.
func TestGroupCommitUsesIngestPath(t *testing.T) {
	t.Parallel()
	ing := &countingIngester{}
	e := newEnv(t, func(c *Config, o *Options) {
		c.Ingest.FlushInterval = 20 * time.Millisecond
		ing.store = o.Store
		o.Importer = ing
	})
	const clients, per = 8, 5
	trackConcurrently(t, e, clients, per)
	code, body := e.ingest("/v1/track", map[string]any{"userId": "u0", "event": "Tick", "messageId": "m-0-0"})
	require.Equal(t, 200, code, body)
	require.Equal(t, clients*per, e.counts().Events)
	ingests, imports := ing.calls()
	require.Positive(t, ingests)
	require.Less(t, ingests, clients*per/2, "expected group commits, got %d ingest calls", ingests)
	require.Zero(t, imports, "events went through the file import")
}

type countingIngester struct {
	store            *engine.Store
	mu               sync.Mutex
	ingests, imports int
}

func (c *countingIngester) Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error) {
	c.mu.Lock()
	c.ingests++
	c.mu.Unlock()
	return c.store.Ingest(ctx, b)
}

func (c *countingIngester) ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error) {
	c.mu.Lock()
	c.imports++
	c.mu.Unlock()
	return c.store.ImportRows(ctx, kind, label, rows)
}

func (c *countingIngester) calls() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ingests, c.imports
}
