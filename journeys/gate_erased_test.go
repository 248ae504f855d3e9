package journeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
)

// TestGateRefusesPeopleErasedAfterTheirSendWasRead: a send read from the
// outbox before its person was erased (a page in hand, a page read ahead,
// a send in a cluster's stream) is refused by the gate, at the batch's
// prepare and at the last check right before the provider call: erasure
// removes a person's outbox rows, not the copies already read.
func TestGateRefusesPeopleErasedAfterTheirSendWasRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(3, "UTC")
	// Their consents are older than the gate's window: nobody is in the
	// changed set because of them.
	e.clk.Advance(time.Hour)
	g := e.r.gate
	since := e.clk.Now()
	row := func(id int64) outRow {
		return outRow{msg: channels.Message{ProfileID: id, Purpose: "marketing", To: "x@example.com"}, createdAt: since}
	}
	first := []outRow{row(ids[0]), row(ids[1])}
	require.NoError(t, g.prepare(e.ctx, "email", since, first))
	require.Empty(t, g.changed, "no change since the sends were decided")
	for _, o := range first {
		reason, err := g.Check(e.ctx, "email", o.msg)
		require.NoError(t, err)
		require.Empty(t, reason)
	}

	// Erased between the batch's prepare and its provider calls.
	e.clk.Advance(time.Second)
	_, err := e.r.store.Erase(e.ctx, "u1", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	reason, err := g.Check(e.ctx, "email", first[1].msg)
	require.NoError(t, err)
	require.Equal(t, ReasonUnreachable, reason, "the last check refuses the erased person")
	reason, err = g.Check(e.ctx, "email", first[0].msg)
	require.NoError(t, err)
	require.Empty(t, reason, "everyone else is still allowed")

	// Erased before a batch read earlier is prepared.
	e.clk.Advance(time.Second)
	later := []outRow{row(ids[2]), row(ids[0])}
	_, err = e.r.store.Erase(e.ctx, "u2", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	require.NoError(t, g.prepare(e.ctx, "email", since, later))
	require.Equal(t, ReasonUnreachable, g.decided[ids[2]]["marketing"], "decided set-based at the prepare, not one by one")
	reason, err = g.Check(e.ctx, "email", later[0].msg)
	require.NoError(t, err)
	require.Equal(t, ReasonUnreachable, reason, "the prepare refuses the erased person")
	reason, err = g.Check(e.ctx, "email", later[1].msg)
	require.NoError(t, err)
	require.Empty(t, reason)
}
