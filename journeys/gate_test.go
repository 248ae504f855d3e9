package journeys

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// gatedChannel behaves like a real adapter: it asks the gate right before
// each provider call. During each call it runs hook, which lets a test
// change consent between one message and the next of the same batch.
type gatedChannel struct {
	gate channels.Gate
	hook func(i int, m channels.Message)
	sent []int64
}

func (c *gatedChannel) Name() string { return "email" }

func (c *gatedChannel) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		if r, ok := channels.CheckGate(ctx, c.gate, c.Name(), m); !ok {
			out[i] = r
			continue
		}
		c.sent = append(c.sent, m.ProfileID)
		out[i] = channels.Delivered("id-" + m.IdempotencyKey)
		c.hook(i, m)
	}
	return out
}

// TestGateSeesChangesWithinABatch: a withdrawal committed while a batch is
// being sent, and a grant that expires meanwhile, stop the very next
// provider call for that person, not a later batch.
func TestGateSeesChangesWithinABatch(t *testing.T) {
	t.Parallel()
	ch := &gatedChannel{}
	e := newEnv(t, func(c *Config) { c.Channels = []channels.Channel{ch} })
	ch.gate = e.r.Gate()
	ids := e.crowd(9, "UTC")
	// The last person's grant expires one minute from now.
	require.NoError(t, e.store.RecordConsent(e.ctx, engine.ConsentInput{ProfileID: ids[8], Purpose: "marketing", Channel: "email",
		Status: consent.Granted, ExpiresAt: e.clk.Now().Add(time.Minute), Source: "test"}))
	byID := map[int64]int{}
	for i, id := range ids {
		byID[id] = i
	}
	ch.hook = func(_ int, m channels.Message) {
		switch k := byID[m.ProfileID]; {
		case k%2 == 0 && k < 6: // withdraw the next person, committed now
			e.withdraw([]int64{ids[k+1]}, "marketing", "email")
		case k == 7: // time passes the expiry of the last person's grant
			e.clk.Advance(2 * time.Minute)
		}
	}
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()
	require.Equal(t, []int64{ids[0], ids[2], ids[4], ids[6], ids[7]}, ch.sent)
	require.Equal(t, 3, e.logCount("welcome", "hello", "skipped", "withdrawn"))
	require.Equal(t, 1, e.logCount("welcome", "hello", "skipped", "expired"))
}
