package journeys

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine/bucket"
)

func TestFrequencyCapInLocalDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Policy.Caps = map[string]int{"email": 1} })
	ids := e.people(
		person{User: "bkk", Email: "a@x.com", TZ: "Asia/Bangkok", Consents: []string{"marketing/email"}},
		person{User: "utc", Email: "b@x.com", TZ: "UTC", Consents: []string{"marketing/email"}},
	)
	for _, name := range []string{"a-first", "b-second"} {
		e.publish(`
name: ` + name + `
purpose: marketing
entry: api
reentry: always
steps:
  - id: hi
    send: {channel: email, template: t}
`)
	}
	e.clk.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) // 19:00 in Bangkok
	enterAll(t, e, "a-first", ids)
	enterAll(t, e, "b-second", ids)
	e.run()
	require.Len(t, e.chans["email"].sent(), 2, "one email each; the second journey is capped")
	require.Equal(t, 2, e.logCount("b-second", "hi", "skipped", "frequency_cap"))
	// 17:30 UTC is 00:30 the next day in Bangkok: a new local day there,
	// not in UTC.
	e.clk.Set(time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC))
	enterAll(t, e, "b-second", ids)
	e.run()
	require.Equal(t, []int64{ids[0]}, e.chans["email"].to("hi")[1:2])
	require.Equal(t, 3, e.logCount("b-second", "hi", "skipped", "frequency_cap"))
	// Transactional journeys are never capped.
	e.publish(`
name: c-receipt
purpose: transactional
entry: api
reentry: always
steps:
  - id: hi
    send: {channel: email, template: receipt}
`)
	enterAll(t, e, "c-receipt", ids)
	e.run()
	require.Len(t, e.chans["email"].sent(), 5)
}

// TestQuietHoursAcrossDST holds marketing SMS outside 08:00–21:00 local
// time, across the spring-forward night in London (2026-03-29 01:00 UTC),
// and for a person with no time zone, in every zone plausible for their
// number.
func TestQuietHoursAcrossDST(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "ldn", Phone: "+447700900123", TZ: "Europe/London", Consents: []string{"marketing/sms"}},
		person{User: "th", Phone: "+66812345678", Consents: []string{"marketing/sms"}}, // zone unknown: +66 ⇒ Asia/Bangkok
		person{User: "us", Phone: "+12125550123", TZ: "America/New_York", Consents: []string{"marketing/sms"}},
	)
	e.publish(`
name: flash
purpose: marketing
entry: api
steps:
  - id: sms
    send: {channel: sms, template: flash_sale}
`)
	// Saturday 2026-03-28 21:30 UTC: 21:30 in London (GMT, quiet), 04:30
	// Sunday in Bangkok (quiet), 17:30 in New York (EDT since 03-08, allowed).
	e.clk.Set(time.Date(2026, 3, 28, 21, 30, 0, 0, time.UTC))
	enterAll(t, e, "flash", ids)
	e.run()
	require.Equal(t, []int64{ids[2]}, e.chans["sms"].to("sms"))
	require.Equal(t, 2, e.logCount("flash", "sms", "held", "quiet_hours"))
	// Bangkok opens at 08:00 +07 = 01:00 UTC.
	e.clk.Set(time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC))
	e.run()
	require.Len(t, e.chans["sms"].sent(), 1)
	e.clk.Set(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC))
	e.run()
	require.Equal(t, []int64{ids[1], ids[2]}, e.chans["sms"].to("sms"))
	// London opens at 08:00 BST, which is 07:00 UTC after the change (it
	// would be 08:00 UTC the day before).
	e.clk.Set(time.Date(2026, 3, 29, 6, 59, 0, 0, time.UTC))
	e.run()
	require.Len(t, e.chans["sms"].sent(), 2)
	e.clk.Set(time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC))
	e.run()
	require.Equal(t, ids, e.chans["sms"].to("sms"))
	require.Equal(t, 2, e.logCount("flash", "sms", "held", "quiet_hours"), "held once each")
}

func TestQuietHoursUnknownZoneEverywherePlausible(t *testing.T) {
	t.Parallel()
	// A +1 number may be anywhere from Hawaii to Newfoundland: the send
	// waits until it is 08:00–21:00 in all of them.
	zones := channels.PlausibleZones("+12125550123")
	require.NotEmpty(t, zones)
	pol := PolicyConfig{}
	at := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC) // 07:00 in New York
	h := pol.heldUntil("sms", at, pol.zonesFor("", "+12125550123"))
	for _, z := range zones {
		require.False(t, channels.DefaultSMSQuietHours.Quiet(h, z), "%s at %s", z, h)
	}
	require.True(t, h.After(at))
}

func TestHoldout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Policy.HoldoutPercent = 20 })
	ids := e.crowd(200, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()
	e.advance(25 * time.Hour)
	held := 0
	for _, id := range ids {
		if bucket.Of(id, 100) < 20 {
			held++
		}
	}
	require.Greater(t, held, 20)
	require.Len(t, e.chans["email"].to("hello"), 200-held)
	require.Equal(t, held, e.logCount("welcome", "hello", "skipped", "holdout"))
	require.Equal(t, held, e.logCount("welcome", "again", "skipped", "holdout"), "the holdout is stable per person")
}

func TestSkipReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "ok", Email: "ok@x.com", Consents: []string{"marketing/email"}},
		person{User: "noconsent", Email: "nc@x.com"},
		person{User: "noaddr", Phone: "+66812345670", Consents: []string{"marketing/email"}},
		person{User: "supp", Email: "s@x.com", Consents: []string{"marketing/email"}},
		person{User: "obj", Email: "o@x.com", Consents: []string{"marketing/email"}},
		person{User: "wd", Email: "w@x.com", Consents: []string{"marketing/email"}},
	)
	require.NoError(t, e.store.Suppress(e.ctx, "email", "s@x.com", "complaint", "test"))
	_, err := e.store.DB().ExecContext(e.ctx, `UPDATE profiles SET objected = true WHERE user_id = 'obj'`)
	require.NoError(t, err)
	e.publish(`
name: reasons
purpose: marketing
entry: api
steps:
  - id: hi
    send: {channel: email, template: t}
`)
	enterAll(t, e, "reasons", ids)
	e.withdraw(ids[5:], "marketing", "email")
	e.run()
	require.Equal(t, ids[:1], e.chans["email"].to("hi"))
	st := e.stats("reasons").step("hi")
	require.Equal(t, map[string]int64{"no_consent": 1, "unreachable": 1, "suppressed": 1, "withdrawn": 1}, st.Skipped)
	// objected people do not even enter a marketing journey
	require.EqualValues(t, 5, e.stats("reasons").Entered)
}

func TestRateLimitSpreadsSends(t *testing.T) {
	t.Parallel()
	var slept time.Duration
	e := newEnv(t, func(c *Config) {
		c.Policy.RatePerSecond = map[string]float64{"email": 10}
		c.Sleep = func(_ context.Context, d time.Duration) error { slept += d; return nil }
		c.Now = func() time.Time { return t0.Add(slept) }
	})
	ids := e.crowd(50, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()
	require.Len(t, e.chans["email"].to("hello"), 50)
	// 10 go at once (the burst), the other 40 are spread at 10/s.
	require.InDelta(t, 4.0, slept.Seconds(), 0.5)
}
