package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestFailuresAreListedWithReasons: failed sends are visible, one row each
// with the provider's reason, and counted by reason.
func TestFailuresAreListedWithReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(3, "UTC")
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		if m.ProfileID == ids[2] {
			return nil
		}
		r := channels.Permanent("smtp:550", fmt.Errorf("no such user"))
		return &r
	}
	e.publish(twoEmails)
	start := e.clk.Now()
	enterAll(t, e, "welcome", ids)
	res := e.run()
	require.Equal(t, 2, res.Failed)
	fs, err := e.r.Failures(e.ctx, "welcome", start, 100)
	require.NoError(t, err)
	require.Len(t, fs, 2)
	for _, f := range fs {
		require.Equal(t, "hello", f.Step)
		require.Equal(t, "smtp:550", f.Reason)
	}
	require.Equal(t, []FailureCount{{Reason: "smtp:550", Count: 2}}, CountByReason(fs))
	none, err := e.r.Failures(e.ctx, "welcome", start.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Empty(t, none, "only failures since the instant asked")
}
