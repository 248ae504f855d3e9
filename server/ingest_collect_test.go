package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// gatedIngester holds its first Ingest call until released, and records
// how many events each call carried.
type gatedIngester struct {
	store   *engine.Store
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func (g *gatedIngester) Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error) {
	g.mu.Lock()
	first := len(g.sizes) == 0
	g.sizes = append(g.sizes, b.Events.Len())
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
	return g.store.Ingest(ctx, b)
}

func (g *gatedIngester) ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error) {
	return g.store.ImportRows(ctx, kind, label, rows)
}

func (g *gatedIngester) callSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// TestGroupsFormWhileACommitRuns: a lone request is written at once, not
// held for FlushInterval (an hour here); the requests that arrive while it
// commits are written together in the next group, as soon as the writer
// is free; when those clients send again, they share a commit again.
func TestGroupsFormWhileACommitRuns(t *testing.T) {
	t.Parallel()
	g := &gatedIngester{entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *Config, o *Options) {
		c.Ingest.FlushInterval = time.Hour
		g.store = o.Store
		o.Importer = g
	})
	track := func(i int) error {
		code, body := e.ingest("/v1/track", map[string]any{"userId": fmt.Sprintf("u%d", i), "event": "Tick", "messageId": fmt.Sprintf("m-%d", i)})
		if code != 200 {
			return fmt.Errorf("request %d: status %d: %s", i, code, body)
		}
		return nil
	}
	const later = 6
	errs := make(chan error, later+1)
	go func() { errs <- track(0) }()
	<-g.entered // the lone request is being written: it was not held back
	var wg sync.WaitGroup
	for i := 1; i <= later; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- track(i)
		}(i)
	}
	// Every later request is queued behind the running commit.
	require.Eventually(t, func() bool { return e.srv.ingest.queued.Load() == later+1 }, time.Minute, time.Millisecond)
	close(g.release)
	wg.Wait()
	for range later + 1 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, []int{1, later}, g.callSizes(), "one group for the lone request, one for those queued behind it")

	// The clients just answered come back one by one: the writer waits for
	// all of them (it expects the last group back) and commits them together.
	for i := 1; i <= later; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- track(later + i)
		}(i)
	}
	wg.Wait()
	for range later {
		require.NoError(t, <-errs)
	}
	require.Equal(t, []int{1, later, later}, g.callSizes(), "the returning clients share one commit")
	require.Equal(t, 2*later+1, e.counts().Events)
}
