package journeys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// panicky is a channel whose provider call panics.
type panicky struct{}

func (panicky) Name() string { return "email" }
func (panicky) Send(context.Context, []channels.Message) []channels.Result {
	panic("adapter bug")
}

// TestSchedulerSurvivesAPanicInDispatch: a panic while sending (outside
// any one journey's tick) is recovered; the loop goes on, and Health says
// what happened until a tick succeeds again.
func TestSchedulerSurvivesAPanicInDispatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = []channels.Channel{panicky{}} })
	ids := e.crowd(2, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	var mu sync.Mutex
	var errs []error
	ticked := make(chan struct{}, 10)
	s := NewScheduler(e.r, SchedulerConfig{Interval: time.Hour, OnTick: func(_ TickResult, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		ticked <- struct{}{}
	}})
	require.True(t, s.Health().Healthy, "healthy before the first tick")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-ticked
	h := s.Health()
	require.False(t, h.Healthy)
	require.Contains(t, h.Error, "panic: adapter bug")
	var pe *PanicError
	mu.Lock()
	require.ErrorAs(t, errs[0], &pe)
	mu.Unlock()
	s.Nudge()
	<-ticked // the loop is still alive
	cancel()
	require.NoError(t, <-done)
}
