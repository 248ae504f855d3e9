package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/bucket"
)

func TestBranchSplitUpdateExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(200, "UTC") // ltv = 10·i
	e.publish(`
name: graph
purpose: marketing
entry: api
steps:
  - id: who
    branch:
      - {if: 'ltv >= 1500', goto: vip}
      - {if: 'ltv >= 1000', goto: stop}
      - {else: ab}
  - id: vip
    update: {set: {tier: "gold", vip_since_journey: true}}
    next: vip-mail
  - id: stop
    exit: {}
  - id: ab
    split:
      - {percent: 30, goto: a}
      - {percent: 70, goto: end}
  - id: a
    send: {channel: email, template: a}
    next: end
  - id: vip-mail
    send: {channel: email, template: v}
`)
	enterAll(t, e, "graph", ids)
	e.run()
	vip := e.chans["email"].to("vip-mail")
	require.Len(t, vip, 50) // i in 150..199
	p, err := e.store.Profile(e.ctx, vip[0])
	require.NoError(t, err)
	require.Equal(t, "gold", p.Traits["tier"])
	require.Equal(t, true, p.Traits["vip_since_journey"])
	st := e.stats("graph")
	require.EqualValues(t, 50, st.step("stop").Exited)
	a := len(e.chans["email"].to("a"))
	require.InDelta(t, 30, a, 15, "30%% of 100")
	require.EqualValues(t, 200-50, st.Completed-0+0) // vip, a and the 70% arm complete; stop exits
	require.EqualValues(t, 50, st.Exited)
	// Splits are sticky: the same person lands in the same arm again.
	for _, id := range ids[:100] {
		b := bucket.Salted(id, "graph/ab", 100)
		inA := false
		for _, x := range e.chans["email"].to("a") {
			inA = inA || x == id
		}
		require.Equal(t, b < 30, inA)
	}
}

func TestWaitUntilTimeOfDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "bkk", Email: "a@x.com", TZ: "Asia/Bangkok", Consents: []string{"marketing/email"}},
		person{User: "ny", Email: "b@x.com", TZ: "America/New_York", Consents: []string{"marketing/email"}},
	)
	e.publish(`
name: morning
purpose: marketing
entry: api
steps:
  - id: nine
    wait: {until: "09:00"}
  - id: hi
    send: {channel: email, template: t}
`)
	enterAll(t, e, "morning", ids) // 09:00 UTC = 16:00 Bangkok = 04:00 New York (EST)
	for h := 0; h < 24; h++ {
		e.advance(time.Hour)
		got := e.chans["email"].sent()
		for _, m := range got {
			local := e.clk.Now().In((*zoneCache)(nil).loadZone(map[int64]string{ids[0]: "Asia/Bangkok", ids[1]: "America/New_York"}[m.ProfileID]))
			_ = local
		}
		switch {
		case h+1 < 5:
			require.Empty(t, got, "hour %d", h+1)
		case h+1 < 17:
			require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hi"), "hour %d", h+1) // 09:00 New York = 14:00 UTC
		}
	}
	require.Equal(t, ids, e.chans["email"].to("hi"))
}

func TestWaitForEventWithTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "buyer", Email: "a@x.com", Consents: []string{"marketing/email"}},
		person{User: "idle", Email: "b@x.com", Consents: []string{"marketing/email"}},
	)
	e.publish(`
name: cart
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {event: purchase, timeout: 4h, on_timeout: remind}
    next: thanks
  - id: thanks
    send: {channel: email, template: thanks}
    next: end
  - id: remind
    send: {channel: email, template: remind}
`)
	enterAll(t, e, "cart", ids)
	e.run()
	e.advance(time.Hour)
	_, err := e.store.ImportRows(e.ctx, engine.ImportEvents, "t", []map[string]any{{"user_id": "buyer", "event": "purchase", "timestamp": e.clk.Now().Format(time.RFC3339), "message_id": "p1"}})
	require.NoError(t, err)
	e.advance(time.Minute)
	require.Equal(t, []int64{ids[0]}, e.chans["email"].to("thanks"))
	require.Empty(t, e.chans["email"].to("remind"))
	e.advance(3 * time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("remind"))
}

func TestWaitForCondition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(`
name: cond
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {condition: 'vip == true', timeout: 2d, on_timeout: end}
  - id: hi
    send: {channel: email, template: t}
`)
	enterAll(t, e, "cond", ids)
	e.advance(time.Hour)
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "t", []map[string]any{{"user_id": "u1", "vip": true}})
	require.NoError(t, err)
	e.advance(time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hi"))
	e.advance(2 * 24 * time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hi"))
	require.EqualValues(t, 2, e.stats("cond").Completed)
}

func TestGoalAndExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(3, "UTC")
	e.publish(`
name: conv
purpose: marketing
entry: api
goal: 'count(events, .event == "purchase" and .timestamp >= entered_at) > 0'
exit: 'unsubscribed_all == true'
steps:
  - id: one
    send: {channel: email, template: t}
  - id: pause
    wait: {duration: 1d}
  - id: two
    send: {channel: email, template: t}
`)
	enterAll(t, e, "conv", ids)
	e.run()
	_, err := e.store.ImportRows(e.ctx, engine.ImportEvents, "t", []map[string]any{{"user_id": "u0", "event": "purchase", "timestamp": e.clk.Now().Add(time.Hour).Format(time.RFC3339), "message_id": "p"}})
	require.NoError(t, err)
	_, err = e.store.ImportRows(e.ctx, engine.ImportProfiles, "t", []map[string]any{{"user_id": "u1", "unsubscribed_all": true}})
	require.NoError(t, err)
	e.advance(25 * time.Hour)
	require.Equal(t, []int64{ids[2]}, e.chans["email"].to("two"))
	st := e.stats("conv")
	require.EqualValues(t, 1, st.Converted)
	require.EqualValues(t, 1, st.Exited)
	require.EqualValues(t, 1, st.step("pause").Converted)
	require.EqualValues(t, 1, st.Completed)
}

func TestVersionsDrain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(4, "UTC")
	v1 := e.publish(`
name: vers
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {duration: 1d}
  - id: old
    send: {channel: email, template: t}
`)
	enterAll(t, e, "vers", ids[:2])
	e.run()
	v2 := e.publish(`
name: vers
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {duration: 1d}
  - id: new
    send: {channel: email, template: t}
`)
	require.Equal(t, 1, v1.Version)
	require.Equal(t, 2, v2.Version)
	again := e.publish(`
name: vers
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {duration: 1d}
  - id: new
    send: {channel: email, template: t}
`)
	require.True(t, again.Unchanged)
	enterAll(t, e, "vers", ids[2:])
	e.run()
	info, err := e.r.Get(e.ctx, "vers")
	require.NoError(t, err)
	require.Equal(t, 2, info.CurrentVersion)
	require.Equal(t, []VersionInfo{{Version: 1, PublishedAt: info.Versions[0].PublishedAt, Active: 2}, {Version: 2, PublishedAt: info.Versions[1].PublishedAt, Active: 2}}, info.Versions)
	e.advance(24 * time.Hour)
	require.Equal(t, ids[:2], e.chans["email"].to("old"))
	require.Equal(t, ids[2:], e.chans["email"].to("new"))
	for _, m := range e.chans["email"].sent() {
		want := 1
		if m.Step == "new" {
			want = 2
		}
		require.Equal(t, want, m.JourneyVersion)
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	require.NoError(t, e.r.Pause(e.ctx, "welcome"))
	_, err := e.r.Trigger(e.ctx, "welcome", []APIEntry{{ProfileID: ids[0]}})
	require.Error(t, err)
	e.advance(time.Hour)
	require.Empty(t, e.chans["email"].sent())
	info, err := e.r.Get(e.ctx, "welcome")
	require.NoError(t, err)
	require.Equal(t, StatePaused, info.State)
	require.NoError(t, e.r.Resume(e.ctx, "welcome"))
	e.run()
	require.Len(t, e.chans["email"].sent(), 2)
	require.ErrorIs(t, e.r.Pause(e.ctx, "nope"), ErrNotFound)
}

func TestRetriesAndFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RetryBase = time.Minute; c.MaxAttempts = 3 })
	ids := e.crowd(3, "UTC")
	tries := map[int64]int{}
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		tries[m.ProfileID]++
		switch {
		case m.ProfileID == ids[0] && tries[m.ProfileID] < 3:
			r := channels.Transient("smtp:451", fmt.Errorf("try later"))
			return &r
		case m.ProfileID == ids[1]:
			r := channels.Permanent("smtp:550", fmt.Errorf("no such user"))
			r.Suppress = true
			return &r
		case m.ProfileID == ids[2]:
			r := channels.Transient("smtp:451", fmt.Errorf("try later"))
			return &r
		}
		return nil
	}
	e.publish(`
name: retry
purpose: marketing
entry: api
steps:
  - id: hi
    send: {channel: email, template: t}
`)
	enterAll(t, e, "retry", ids)
	e.run()
	require.Empty(t, e.chans["email"].sent())
	e.advance(time.Minute) // attempt 2 after 1m
	require.Empty(t, e.chans["email"].sent())
	e.advance(2 * time.Minute) // attempt 3 after 2m more
	require.Equal(t, []int64{ids[0]}, e.chans["email"].to("hi"))
	require.Equal(t, 3, tries[ids[2]])
	require.Equal(t, 1, tries[ids[1]], "permanent failures are not retried")
	st := e.stats("retry")
	require.EqualValues(t, 1, st.step("hi").Sent)
	require.EqualValues(t, 2, st.step("hi").Failed)
	sup, _, err := e.store.Suppressed(e.ctx, "email", "u1@example.com")
	require.NoError(t, err)
	require.True(t, sup, "a hard bounce suppresses the address")
}

func TestFailingJourneyIsUnhealthyOthersGoOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(twoEmails)
	e.publish(`
name: broken
purpose: marketing
entry: api
steps:
  - id: b
    branch:
      - {if: 'ltv > 1', goto: end}
`)
	enterAll(t, e, "welcome", ids)
	enterAll(t, e, "broken", ids)
	// Break the second journey's step table behind its back.
	_, err := e.store.DB().ExecContext(e.ctx, `UPDATE journey_instances SET step = 'ghost' WHERE journey = 'broken'`)
	require.NoError(t, err)
	res, err := e.r.Tick(e.ctx, "")
	require.NoError(t, err)
	require.Contains(t, res.Errors, "broken")
	require.Len(t, e.chans["email"].to("hello"), 2)
	info, err := e.r.Get(e.ctx, "broken")
	require.NoError(t, err)
	require.Equal(t, "unhealthy", info.Health)
	require.Contains(t, info.LastError, "ghost")
	ok, err := e.r.Get(e.ctx, "welcome")
	require.NoError(t, err)
	require.Equal(t, "ok", ok.Health)
}
