package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/journeys/bridge"
)

const oneSMS = `
name: flash
purpose: marketing
entry: api
steps:
  - id: sale
    send: {channel: sms, template: flash}
`

// TestRetryInsideQuietHoursIsHeld: a marketing SMS that failed transiently
// at 20:59 local time is not retried at 21:02; it is held until the window
// opens at 08:00, and the hold is not counted as a provider attempt.
func TestRetryInsideQuietHoursIsHeld(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RetryBase = 3 * time.Minute; c.MaxAttempts = 2 })
	ids := e.people(person{User: "ann", Phone: "+14155550100", TZ: "UTC", Consents: []string{"marketing/sms"}})
	var attempts []time.Time
	e.chans["sms"].fail = func(m channels.Message) *channels.Result {
		attempts = append(attempts, e.clk.Now())
		if len(attempts) == 1 {
			r := channels.Transient("twilio:503", fmt.Errorf("try later"))
			return &r
		}
		return nil
	}
	e.clk.Advance(11*time.Hour + 59*time.Minute) // 20:59 UTC
	e.publish(oneSMS)
	enterAll(t, e, "flash", ids)
	e.run()
	require.Len(t, attempts, 1)
	e.advance(3 * time.Minute) // 21:02: the retry is due, inside quiet hours
	require.Len(t, attempts, 1, "no provider call inside quiet hours")
	require.Empty(t, e.chans["sms"].sent())
	e.advance(10*time.Hour + 57*time.Minute) // 07:59 next day: still quiet
	require.Len(t, attempts, 1)
	e.advance(time.Minute) // 08:00: the window opens
	require.Len(t, attempts, 2)
	require.Equal(t, []int64{ids[0]}, e.chans["sms"].to("sale"), "the held retry is not a failed attempt")
	local := attempts[1].In(time.UTC)
	require.Equal(t, 8, local.Hour())
}

// TestRetryAfterWithdrawalIsSkipped: a retry runs the decision again; a
// person who withdrew since the first attempt is skipped with that reason.
func TestRetryAfterWithdrawalIsSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RetryBase = time.Minute })
	ids := e.crowd(2, "UTC")
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		r := channels.Transient("smtp:451", fmt.Errorf("try later"))
		return &r
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
	e.chans["email"].fail = nil
	e.withdraw(ids[:1], "marketing", "email")
	e.advance(time.Minute)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hi"))
	require.Equal(t, 1, e.logCount("retry", "hi", "skipped", ReasonWithdrawn))
}

// TestRestrictionHoldsPendingSteps: a person restricted while inside a
// journey gets neither the update step's write nor the send; both wait
// until the restriction is lifted and then run.
func TestRestrictionHoldsPendingSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(`
name: tagged
purpose: marketing
entry: api
steps:
  - id: wait
    wait: {duration: 1h}
  - id: tag
    update: {set: {vip: true}}
  - id: hello
    send: {channel: email, template: t}
`)
	enterAll(t, e, "tagged", ids)
	e.run()
	_, err := e.store.Restrict(e.ctx, "u0", engine.PrivacyOptions{})
	require.NoError(t, err)
	e.advance(time.Hour)
	p, err := e.store.Profile(e.ctx, ids[0])
	require.NoError(t, err)
	require.Nil(t, p.Traits["vip"], "no write to a restricted person")
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hello"))
	e.advance(24 * time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hello"), "held while restricted")

	_, err = e.store.Unrestrict(e.ctx, "u0", engine.PrivacyOptions{})
	require.NoError(t, err)
	e.run()
	p, err = e.store.Profile(e.ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, true, p.Traits["vip"])
	require.Equal(t, ids, e.chans["email"].to("hello"))
}

// tagBuyers is a transactional journey whose update step tags its people
// an hour after they enter.
const tagBuyers = `
name: receipt
purpose: transactional
entry: api
steps:
  - id: wait
    wait: {duration: 1h}
  - id: tag
    update: {set: {buyer: true}}
`

// TestUpdateNeverWritesToObjectors: an objection covers profiling, so a
// transactional journey's update step skips the objector.
func TestUpdateNeverWritesToObjectors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(tagBuyers)
	enterAll(t, e, "receipt", ids)
	e.run()
	_, err := e.store.Object(e.ctx, "u0", engine.PrivacyOptions{})
	require.NoError(t, err)
	e.advance(time.Hour)
	p, err := e.store.Profile(e.ctx, ids[0])
	require.NoError(t, err)
	require.Nil(t, p.Traits["buyer"])
	p, err = e.store.Profile(e.ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, true, p.Traits["buyer"])
	require.Equal(t, 1, e.logCount("receipt", "tag", "skipped", ReasonObjected))
}

// TestTransactionalNeverReachesANumberThatSentSTOP: a transactional SMS
// skips marketing consent, never an SMS STOP.
func TestTransactionalNeverReachesANumberThatSentSTOP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "ann", Phone: "+14155550101", TZ: "UTC"},
		person{User: "bob", Phone: "+14155550102", TZ: "UTC"},
	)
	changed, err := bridge.New(e.store).Withdraw(e.ctx, channels.ConsentChange{Channel: channels.SMS, Address: "+14155550101", Source: "sms_inbound"})
	require.NoError(t, err)
	require.True(t, changed)
	e.publish(`
name: otp
purpose: transactional
entry: api
steps:
  - id: code
    send: {channel: sms, template: otp}
`)
	enterAll(t, e, "otp", ids)
	e.run()
	require.Equal(t, []int64{ids[1]}, e.chans["sms"].to("code"))
	require.Equal(t, 1, e.logCount("otp", "code", "skipped", ReasonSuppressed))
}

// TestObjectionEndsMarketingInstances: an objection ends the person's
// marketing journeys in the objection's own transaction (reason objected),
// and leaves transactional ones running.
func TestObjectionEndsMarketingInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	e.publish(twoEmails)
	e.publish(`
name: receipt
purpose: transactional
entry: api
steps:
  - id: wait
    wait: {duration: 1h}
  - id: mail
    send: {channel: email, template: receipt}
`)
	enterAll(t, e, "welcome", ids)
	enterAll(t, e, "receipt", ids)
	e.run()
	_, err := e.store.Object(e.ctx, "u0", engine.PrivacyOptions{})
	require.NoError(t, err)
	var status, reason string
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT status, exit_reason FROM journey_instances WHERE journey = 'welcome' AND profile_id = ?`, ids[0]).Scan(&status, &reason))
	require.Equal(t, StatusExited, status, "ended by the objection itself, before any tick")
	require.Equal(t, ReasonObjected, reason)
	require.Equal(t, 1, e.logCount("welcome", "pause", "exited", ReasonObjected))
	e.advance(25 * time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("again"))
	require.Equal(t, ids, e.chans["email"].to("mail"), "transactional journeys go on")
}
