package journeys

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const allocJourney = `
name: alloc
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
`

// TestDispatchedMessagesCarryTheProfile: what the send step hands the
// channel comes from the person's profile row and traits (the outbox is
// read as Arrow batches, traits through database/sql).
func TestDispatchedMessagesCarryTheProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(3, "Asia/Bangkok")
	e.publish(allocJourney)
	enterAll(t, e, "alloc", ids)
	e.run()
	sent := e.chans["email"].sent()
	require.Len(t, sent, 3)
	for i, m := range sent {
		require.Equal(t, ids[i], m.ProfileID)
		require.Equal(t, "alloc", m.Journey)
		require.Equal(t, "hello", m.Step)
		require.Equal(t, "welcome", m.Template)
		require.Equal(t, "marketing", m.Purpose)
		require.Equal(t, "Asia/Bangkok", m.Timezone)
		require.Regexp(t, `^u\d@example\.com$`, m.To)
		require.Equal(t, m.Traits["first_name"], m.ToName)
		require.NotNil(t, m.Traits["ltv"])
		require.NotContains(t, m.Traits, "email", "system columns are not traits")
		require.NotEmpty(t, m.IdempotencyKey)
	}
}
