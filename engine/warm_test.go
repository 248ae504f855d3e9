package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWarmIngestionWritesNothing: the warm-up probes the message ids'
// index in a transaction it rolls back. The database is the same after it,
// no write is counted (the consent gate re-reads on every counted write),
// a message id stored before is still recognised and a new one still
// stored; an empty database has nothing to warm; a cancelled warm-up says
// so.
func TestWarmIngestionWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	require.NoError(t, s.WarmIngestion(ctx), "an empty database")

	_, err := s.Ingest(ctx, batch("first", ev{"u1", "", "viewed", "m1"}, ev{"u2", "", "viewed", "m2"}))
	require.NoError(t, err)
	ids := func() int {
		var n int
		require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM event_ids`).Scan(&n))
		return n
	}
	before, stored, epoch := counts(t, s), ids(), s.WriteEpoch()
	require.NoError(t, s.WarmIngestion(ctx))
	require.Equal(t, before, counts(t, s))
	require.Equal(t, stored, ids(), "no probe is left in event_ids")
	require.Equal(t, epoch, s.WriteEpoch(), "nothing was committed")

	res, err := s.Ingest(ctx, batch("again", ev{"u1", "", "viewed", "m1"}, ev{"u1", "", "viewed", "m3"}))
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsAdded)
	require.Equal(t, 1, res.EventsDuplicate)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.WarmIngestion(cancelled), context.Canceled)
	require.Equal(t, stored+1, ids())
}
