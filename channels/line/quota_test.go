package line

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

func TestResetTime(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"mid-month", t0, time.Date(2025, 4, 1, 0, 0, 0, 0, tokyo)},
		// 31 Dec 16:00 UTC is already 1 Jan 01:00 in Tokyo: January's quota.
		{"new year in Tokyo before UTC", time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, tokyo)},
		{"last instant of the month", time.Date(2025, 2, 28, 14, 59, 59, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, tokyo)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ResetTime(tc.now, tokyo)
			require.True(t, tc.want.Equal(got), "got %s", got)
		})
	}
	require.Equal(t, time.Date(2025, 3, 31, 15, 0, 0, 0, time.UTC), ResetTime(t0, tokyo).UTC(), "= 00:00 JST on 1 April")
}

func TestQuotaExhaustionPausesUntilReset(t *testing.T) {
	t.Parallel()
	f := newFakeLINE(t)
	f.Set(func(f *fakeLINE) { f.Limit = 1000 })
	c := &clock{now: t0}
	a := newAdapter(t, f, c, nil)
	ctx := context.Background()

	// 800 of 1000 this month; a multicast to 201 more would pass the limit.
	requireAll(t, a.Send(ctx, batch(800, "line_welcome", false)), channels.StatusDelivered)
	require.False(t, a.Paused())
	res := a.Send(ctx, shift(batch(201, "line_welcome", false), 5000))
	resumeAt := time.Date(2025, 3, 31, 15, 0, 0, 0, time.UTC)
	for _, r := range res {
		require.Equal(t, channels.StatusTransient, r.Status)
		require.Equal(t, "line:quota_exhausted", r.Reason)
		require.ErrorIs(t, r.Err, ErrQuotaExhausted)
		require.Equal(t, resumeAt.Sub(t0), r.RetryAfter)
	}
	st := a.State()
	require.True(t, st.Paused)
	require.Equal(t, 1.0, a.PausedGauge())
	require.True(t, st.ResumeAt.Equal(resumeAt), "paused until 00:00 JST on 1 April, got %s", st.ResumeAt)
	require.True(t, st.Limited)
	require.EqualValues(t, 1000, st.Limit)
	require.Equal(t, t0, st.PausedAt)

	// While paused, nothing reaches LINE.
	before := a.Calls()
	c.Set(resumeAt.Add(-time.Minute))
	for _, r := range a.Send(ctx, shift(batch(3, "line_winback", true), 7000)) {
		require.Equal(t, channels.StatusTransient, r.Status)
		require.ErrorIs(t, r.Err, ErrQuotaExhausted)
		require.Equal(t, time.Minute, r.RetryAfter)
	}
	require.Equal(t, before, a.Calls())

	// After the reset time LINE still reports the quota used up (its
	// reset came later): stay paused and probe again in an hour.
	f.Set(func(f *fakeLINE) { f.Usage = 1000 })
	c.Set(resumeAt.Add(time.Minute))
	requireAll(t, a.Send(ctx, shift(batch(2, "line_winback", true), 7000)), channels.StatusTransient)
	require.True(t, a.Paused())
	require.True(t, a.State().ResumeAt.Equal(resumeAt.Add(time.Hour+time.Minute)))
	calls, _, _ := f.Snapshot()
	require.Equal(t, 2, calls[pathQuotaConsumption], "the pause's own read and one probe")

	// LINE resets the month; the next probe resumes the channel.
	f.Set(func(f *fakeLINE) { f.Usage = 0 })
	c.Set(resumeAt.Add(2 * time.Hour))
	res = a.Send(ctx, shift(batch(2, "line_winback", true), 7000))
	requireAll(t, res, channels.StatusDelivered)
	require.Empty(t, res[0].Reason, "a new send, not a 409")
	require.False(t, a.Paused())
	require.Equal(t, 0.0, a.PausedGauge())
	require.EqualValues(t, 0, a.State().Usage)
}

func TestCheckQuotaPausesAnExhaustedAccount(t *testing.T) {
	t.Parallel()
	f := newFakeLINE(t)
	f.Set(func(f *fakeLINE) { f.Limit, f.Usage = 200, 200 })
	c := &clock{now: t0}
	a := newAdapter(t, f, c, nil)
	st, err := a.CheckQuota(context.Background())
	require.NoError(t, err)
	require.True(t, st.Paused)
	require.EqualValues(t, 200, st.Usage)
	require.Equal(t, t0, st.CheckedAt)
	calls, _, _ := f.Snapshot()
	requireAll(t, a.Send(context.Background(), batch(3, "line_welcome", false)), channels.StatusTransient)
	after, _, _ := f.Snapshot()
	require.Equal(t, calls, after, "no call while paused")
	_, err = a.CheckQuota(context.Background())
	require.NoError(t, err)
	require.True(t, a.Paused(), "CheckQuota never resumes")

	// The operator raises the plan's limit and resumes by hand.
	f.Set(func(f *fakeLINE) { f.Limit = 5000 })
	a.Resume()
	requireAll(t, a.Send(context.Background(), batch(3, "line_welcome", false)), channels.StatusDelivered)

	// Unlimited accounts never pause.
	g := newFakeLINE(t)
	b := newAdapter(t, g, c, nil)
	st, err = b.CheckQuota(context.Background())
	require.NoError(t, err)
	require.False(t, st.Paused)
	require.False(t, st.Limited)
}

// A pause within the first day of a month probes hourly instead of waiting
// a whole month: LINE's reset may come hours after midnight in Tokyo.
func TestPauseOnTheFirstDayProbesHourly(t *testing.T) {
	t.Parallel()
	f := newFakeLINE(t)
	f.Set(func(f *fakeLINE) { f.Limit, f.Usage = 10, 10 })
	firstDay := time.Date(2025, 3, 31, 16, 0, 0, 0, time.UTC) // 1 April 01:00 JST
	c := &clock{now: firstDay}
	a := newAdapter(t, f, c, nil)
	requireAll(t, a.Send(context.Background(), batch(1, "line_winback", true)), channels.StatusTransient)
	require.True(t, a.State().ResumeAt.Equal(firstDay.Add(time.Hour)))
}
