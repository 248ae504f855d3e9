package journeys

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestSegmentEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "a", Email: "a@x.com", Traits: map[string]any{"ltv": 500}, Consents: []string{"marketing/email"}},
		person{User: "b", Email: "b@x.com", Traits: map[string]any{"ltv": 50}, Consents: []string{"marketing/email"}},
	)
	e.publish(`
name: big
purpose: marketing
entry:
  segment: 'ltv >= 100'
  check: "0 * * * *"
steps:
  - id: hi
    send: {channel: email, template: t}
`)
	e.run() // the first check runs at once
	require.Equal(t, []int64{ids[0]}, e.chans["email"].to("hi"))
	// b becomes a member: entered at the next hourly check…
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "t", []map[string]any{{"user_id": "b", "ltv": 900}})
	require.NoError(t, err)
	e.advance(30 * time.Minute)
	require.Len(t, e.chans["email"].to("hi"), 1)
	e.advance(30 * time.Minute)
	require.Equal(t, ids, e.chans["email"].to("hi"))
	// …and a newcomer enters at once through ProfilesChanged.
	c := e.people(person{User: "c", Email: "c@x.com", Traits: map[string]any{"ltv": 100}, Consents: []string{"marketing/email"}})
	n, err := e.r.ProfilesChanged(e.ctx, c)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e.run()
	require.Len(t, e.chans["email"].to("hi"), 3)
	// Staying a member does not re-enter; re-entry never.
	e.advance(3 * time.Hour)
	require.Len(t, e.chans["email"].to("hi"), 3)
}

func TestEventEntryAndReentry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reentry string
		want    int // sends after three qualifying events, spaced 2 days apart
	}{
		{"never", 1},
		{"always", 3},
		{"{after: 3d}", 2},
	}
	for _, c := range cases {
		t.Run(c.reentry, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.people(person{User: "a", Email: "a@x.com", Consents: []string{"marketing/email"}})
			e.publish(`
name: cart
purpose: marketing
entry:
  event: added_to_cart
  where: 'properties.cart_value > 500'
reentry: ` + c.reentry + `
steps:
  - id: remind
    send: {channel: email, template: t}
`)
			e.clk.Advance(time.Minute)
			for i, v := range []int{900, 100, 700, 800} {
				_, err := e.store.ImportRows(e.ctx, engine.ImportEvents, "t", []map[string]any{{"user_id": "a", "event": "added_to_cart",
					"timestamp": e.clk.Now().Format(time.RFC3339), "message_id": fmt.Sprintf("m%d", i), "properties": map[string]any{"cart_value": v}}})
				require.NoError(t, err)
				e.advance(time.Hour)
				if v > 500 {
					e.clk.Advance(47 * time.Hour)
				}
			}
			msgs := e.chans["email"].sent()
			require.Len(t, msgs, c.want)
			require.EqualValues(t, 900, msgs[0].Payload["cart_value"], "the event's properties are the payload")
		})
	}
}

func TestAPIEntryPayloadAndRef(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(person{User: "a", Email: "a@x.com"}) // no marketing consent: transactional still goes
	e.publish(`
name: receipt
purpose: transactional
entry: api
reentry: always
steps:
  - id: receipt
    send: {channel: email, template: receipt}
  - id: erp
    webhook: {url: "https://erp.example.com/hook"}
`)
	for i := 0; i < 2; i++ {
		n, err := e.r.Trigger(e.ctx, "receipt", []APIEntry{{ProfileID: ids[0], Ref: "order-1", Payload: map[string]any{"order_id": "1"}}, {ProfileID: ids[0], Ref: "order-2", Payload: map[string]any{"order_id": "2"}}})
		require.NoError(t, err)
		require.Equal(t, 2-2*i, n, "a ref enters once")
	}
	e.run()
	msgs := e.chans["email"].sent()
	require.Len(t, msgs, 2)
	require.True(t, msgs[0].Transactional)
	require.ElementsMatch(t, []any{"1", "2"}, []any{msgs[0].Payload["order_id"], msgs[1].Payload["order_id"]})
	hooks := e.chans["webhook"].sent()
	require.Len(t, hooks, 2)
	require.Equal(t, "https://erp.example.com/hook", hooks[0].To)
	// Suppression still applies to transactional sends.
	require.NoError(t, e.store.Suppress(e.ctx, "email", "a@x.com", "hard_bounce", "test"))
	_, err := e.r.Trigger(e.ctx, "receipt", []APIEntry{{ProfileID: ids[0], Ref: "order-3"}})
	require.NoError(t, err)
	e.run()
	require.Len(t, e.chans["email"].sent(), 2)
	require.Equal(t, 1, e.logCount("receipt", "receipt", "skipped", "suppressed"))
}

func TestScheduleEntrySlotsAndMissedRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(3, "Asia/Bangkok")
	e.publish(`
name: weekly
purpose: marketing
entry:
  schedule: "CRON_TZ=Asia/Bangkok 0 9 * * MON"
  audience: 'ltv >= 10'
  missed: {policy: run_once, deadline: 6h}
reentry: always
steps:
  - id: remind
    send: {channel: email, template: t}
`)
	// t0 is Monday 09:00 UTC = 16:00 Bangkok: the next slot is Monday
	// 2026-03-09 02:00 UTC.
	e.advance(6*24*time.Hour + 16*time.Hour)
	require.Empty(t, e.chans["email"].sent())
	e.advance(time.Hour)
	require.Equal(t, ids[1:], e.chans["email"].to("remind"))
	slot := time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)
	for _, m := range e.chans["email"].sent() {
		require.Equal(t, slot.Format(time.RFC3339), e.instanceSlot(m.ProfileID, "weekly").Format(time.RFC3339))
	}
	// Ticking again in the same slot does nothing: the slot is claimed.
	e.run()
	require.Len(t, e.chans["email"].sent(), 2)

	// A restart (a new runner on the same database) restores the last slot.
	r2, err := New(e.store, Config{Channels: e.r.cfg.Channels})
	require.NoError(t, err)
	e.r = r2
	e.run()
	require.Len(t, e.chans["email"].sent(), 2)

	// Down for three weeks: two slots missed, the latest runs only within
	// its deadline. Coming back 3h after it: runs once.
	e.clk.Set(time.Date(2026, 3, 30, 5, 0, 0, 0, time.UTC))
	e.run()
	require.Len(t, e.chans["email"].sent(), 4)
	info, err := e.r.Get(e.ctx, "weekly")
	require.NoError(t, err)
	require.EqualValues(t, 2, info.MissedSlots)
	// Coming back 10h after the next slot: past the deadline, nothing runs.
	e.clk.Set(time.Date(2026, 4, 6, 12, 0, 0, 0, time.UTC))
	e.run()
	require.Len(t, e.chans["email"].sent(), 4)
	info, err = e.r.Get(e.ctx, "weekly")
	require.NoError(t, err)
	require.EqualValues(t, 3, info.MissedSlots)
	// The week after runs normally.
	e.clk.Set(time.Date(2026, 4, 13, 2, 30, 0, 0, time.UTC))
	e.run()
	require.Len(t, e.chans["email"].sent(), 6)
}

func (e *env) instanceSlot(pid int64, journey string) time.Time {
	e.t.Helper()
	var s time.Time
	require.NoError(e.t, e.store.DB().QueryRowContext(e.ctx, `SELECT max(slot) FROM journey_instances WHERE profile_id = ? AND journey = ?`, pid, journey).Scan(&s))
	return s
}

func TestDueSlotNeverPanics(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"TZ=UTC", "CRON_TZ=", "* * *", "@every", "60 * * * *", "CRON_TZ=Mars/Base 0 * * * *", ""} {
		_, err := ParseCron(spec)
		require.Error(t, err, spec)
	}
	_, err := ParseCron("CRON_TZ=Europe/London 30 1 * * *")
	require.NoError(t, err)
}

func TestSchedulerRunTicksAndStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	ctx, cancel := context.WithCancel(e.ctx)
	var ticks int
	err := NewScheduler(e.r, SchedulerConfig{Interval: time.Hour, OnTick: func(res TickResult, err error) {
		ticks++
		cancel() // the loop ends after this tick, without waiting for the next
		require.NoError(t, err)
		require.Equal(t, 2, res.Sent)
	}}).Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, ticks)
}
