package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// Right after a failed publish the publisher refuses at once (the group
// committer's bisection would otherwise wait out the timeout per half);
// once failFast has passed it tries the stream again.
func TestPublisherFailsFastRightAfterAFailure(t *testing.T) {
	t.Parallel()
	node, err := StartNode(ServerConfig{Name: "ff", Listen: "127.0.0.1:0", StoreDir: filepath.Join(t.TempDir(), "js")}, "", nil)
	require.NoError(t, err)
	cfg := Config{URLs: []string{node.ClientURL()}}.WithDefaults()
	conn, err := Connect(cfg, "ff", nil)
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, conn.EnsureStream(ctx))
	// Shorter than the configuration allows, to keep the test short: the
	// stall itself is what is tested in TestIngestAnswers503WhenTheStreamStalls.
	conn.cfg.PublishTimeout = 300 * time.Millisecond
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	require.NoError(t, m.Register(reg))
	failures := func(reason string) float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() != "tact_cluster_publish_failures_total" {
				continue
			}
			for _, mm := range mf.GetMetric() {
				if mm.GetLabel()[0].GetValue() == reason {
					return mm.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	p := NewPublisher(conn, m)
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	batch := func(id string) engine.IngestBatch {
		return engine.IngestBatch{Events: engine.IngestEvents{UserID: []string{"u"}, AnonymousID: []string{""}, Event: []string{"e"},
			TS: []time.Time{clock}, Properties: []string{""}, Context: []string{""}, MessageID: []string{id}}}
	}
	_, err = p.Ingest(ctx, batch("before"))
	require.NoError(t, err)

	node.Shutdown()
	_, err = p.Ingest(ctx, batch("a"))
	var pe *PublishError
	require.True(t, errors.As(err, &pe) && pe.Stalled, "%v", err)
	require.InDelta(t, 1, failures("stall"), 0)

	_, err = p.Ingest(ctx, batch("b"))
	require.ErrorAs(t, err, &pe)
	require.InDelta(t, 1, failures("fail_fast"), 0, "refused at once")
	require.InDelta(t, 1, failures("stall"), 0)

	clock = clock.Add(failFast)
	_, err = p.Ingest(ctx, batch("c"))
	require.ErrorAs(t, err, &pe)
	require.InDelta(t, 2, failures("stall"), 0, "tried the stream again")
}
