package journeys

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

func TestFailureCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"smtp:550":     "smtp:550",
		"twilio:21211": "twilio:21211",
		"render":       "render",
		"":             "other",
		"dial tcp 10.0.0.1:25: connection refused":  "other",
		"smtp: 550 5.1.1 <ann@example.com> unknown": "other", // free text never becomes a label
	} {
		require.Equal(t, want, FailureCode(in), in)
	}
}

// TestSendHealthShowsFailuresByReason: the scheduler's health counts the
// failed sends of its window by reason and calls them degraded past the
// threshold; a restarted scheduler restores them from the database; they
// age out of the window.
func TestSendHealthShowsFailuresByReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(14, "UTC")
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		if m.ProfileID == ids[0] || m.ProfileID == ids[1] {
			return nil
		}
		r := channels.Permanent("smtp:550", fmt.Errorf("mailbox unavailable"))
		return &r
	}
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)

	runOnce := func(s *Scheduler) SchedulerHealth {
		t.Helper()
		ticked := make(chan struct{}, 4)
		s.cfg.OnTick = func(TickResult, error) { ticked <- struct{}{} }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		<-ticked
		cancel()
		require.NoError(t, <-done)
		return s.Health()
	}
	h := runOnce(NewScheduler(e.r, SchedulerConfig{Interval: time.Hour}))
	require.True(t, h.Healthy, "failing sends do not make the scheduler unhealthy")
	require.Equal(t, 2, h.Sends.Sent)
	require.Equal(t, 12, h.Sends.Failed)
	require.Equal(t, map[string]int{"smtp:550": 12}, h.Sends.FailedByReason)
	require.True(t, h.Sends.Degraded)

	lenient := NewScheduler(e.r, SchedulerConfig{Interval: time.Hour, DegradedMinimum: 13})
	h = runOnce(lenient)
	require.Equal(t, map[string]int{"smtp:550": 12}, h.Sends.FailedByReason, "restored from the database after a restart")
	require.False(t, h.Sends.Degraded, "12 failures are under a minimum of 13")

	e.clk.Advance(DefaultFailureWindow + time.Minute)
	h = runOnce(NewScheduler(e.r, SchedulerConfig{Interval: time.Hour}))
	require.Zero(t, h.Sends.Failed, "failures older than the window are not counted")
	require.False(t, h.Sends.Degraded)
}
