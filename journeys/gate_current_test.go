package journeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestGatePrepareRereadsOnlyWhenSomethingMoved: a batch's prepare skips
// the gate's three queries when nothing was committed through the store
// since the last read (and no consent transition is due), and re-reads as
// soon as something was, so a withdrawal still stops the next batch.
func TestGatePrepareRereadsOnlyWhenSomethingMoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	g := e.r.gate
	since := e.clk.Now()
	batch := []outRow{{msg: channels.Message{ProfileID: ids[0], Purpose: "marketing"}, createdAt: since}}
	require.NoError(t, g.prepare(e.ctx, "email", since, batch))
	first := g.readNow

	e.clk.Advance(time.Minute)
	require.NoError(t, g.prepare(e.ctx, "email", since, batch))
	require.Equal(t, first, g.readNow, "nothing committed: no re-read")

	e.withdraw([]int64{ids[0]}, "marketing", "email")
	require.NoError(t, g.prepare(e.ctx, "email", since, batch))
	require.True(t, g.readNow.After(first), "a commit through the store: re-read")
	reason, err := g.Check(e.ctx, "email", batch[0].msg)
	require.NoError(t, err)
	require.NotEmpty(t, reason, "the withdrawal stops the send")

	e.clk.Advance(time.Minute)
	require.NoError(t, g.prepare(e.ctx, "email", since.Add(-time.Hour), batch))
	require.True(t, g.readNow.After(first.Add(time.Minute)), "another window: re-read")
}
