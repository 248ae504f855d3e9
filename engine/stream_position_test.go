package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// The stream position survives a reopen and is replaced as a whole: it
// goes back when the stream was made again (another creation time).
func TestStreamPositionRoundTrip(t *testing.T) {
	t.Parallel()
	s, _, path := openStore(t)
	ctx := context.Background()
	p, err := s.StreamPosition(ctx, "TACT_EVENTS")
	require.NoError(t, err)
	require.Equal(t, engine.StreamPosition{}, p, "nothing consumed yet")

	created := time.Date(2026, 11, 30, 9, 0, 0, 123456789, time.UTC)
	for _, want := range []engine.StreamPosition{
		{Seq: 42, Created: created},
		{Seq: 7, Created: created.Add(time.Hour)},
	} {
		require.NoError(t, s.SetStreamPosition(ctx, "TACT_EVENTS", want))
		got, err := s.StreamPosition(ctx, "TACT_EVENTS")
		require.NoError(t, err)
		require.Equal(t, want.Seq, got.Seq)
		require.True(t, want.Created.Truncate(time.Microsecond).Equal(got.Created), "%s != %s", want.Created, got.Created)
	}
	other, err := s.StreamPosition(ctx, "OTHER")
	require.NoError(t, err)
	require.Zero(t, other.Seq, "positions are per stream")

	require.NoError(t, s.Close())
	s, err = engine.Open(ctx, path, engine.Options{Config: testConfig()})
	require.NoError(t, err)
	defer s.Close()
	got, err := s.StreamPosition(ctx, "TACT_EVENTS")
	require.NoError(t, err)
	require.Equal(t, uint64(7), got.Seq)
}
