package journeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/journeys/bridge"
)

func TestBridgeAdapter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(
		person{User: "a", Email: "a@x.com", Phone: "+66812345678", Consents: []string{"marketing/email", "marketing/sms"}},
		person{User: "b", Email: "b@x.com"},
	)
	ad := bridge.New(e.store)
	check := func(ch string, m channels.Message) string {
		t.Helper()
		r, err := ad.Check(e.ctx, ch, m)
		require.NoError(t, err)
		return r
	}
	mail := channels.Message{ProfileID: ids[0], Purpose: "marketing", To: "a@x.com"}
	require.Equal(t, "", check("email", mail))
	require.Equal(t, ReasonNoConsent, check("email", channels.Message{ProfileID: ids[1], Purpose: "marketing", To: "b@x.com"}))
	require.Equal(t, "", check("email", channels.Message{ProfileID: ids[1], Purpose: "transactional", Transactional: true, To: "b@x.com"}))
	require.Equal(t, ReasonUnreachable, check("email", channels.Message{ProfileID: ids[0], Purpose: "marketing"}))
	require.Equal(t, ReasonUnreachable, check("email", channels.Message{ProfileID: 999, Purpose: "marketing", To: "z@x.com"}))

	// STOP by SMS withdraws marketing on sms for the holder, once.
	changed, err := ad.Withdraw(e.ctx, channels.ConsentChange{Channel: "sms", Address: "+66812345678", Source: "sms_inbound:STOP"})
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = ad.Withdraw(e.ctx, channels.ConsentChange{Channel: "sms", Address: "+66812345678", Source: "sms_inbound:STOP"})
	require.NoError(t, err)
	require.False(t, changed, "idempotent: at most one confirmation")
	require.Equal(t, ReasonWithdrawn, check("sms", channels.Message{ProfileID: ids[0], Purpose: "marketing", To: "+66812345678"}))
	require.Equal(t, "", check("email", mail), "email is another channel")
	e.clk.Advance(time.Minute) // a tie at the same instant goes to the withdrawal
	changed, err = ad.Grant(e.ctx, channels.ConsentChange{Channel: "sms", Address: "+66812345678", Source: "sms_inbound:START"})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, "", check("sms", channels.Message{ProfileID: ids[0], Purpose: "marketing", To: "+66812345678"}))

	// An unknown address is suppressed by a withdrawal, and lifted by a grant.
	changed, err = ad.Withdraw(e.ctx, channels.ConsentChange{Channel: "sms", Address: "+66899999999", Source: "sms_inbound:STOP"})
	require.NoError(t, err)
	require.True(t, changed)
	sup, _, err := e.store.Suppressed(e.ctx, "phone", "+66899999999")
	require.NoError(t, err)
	require.True(t, sup)
	_, err = ad.Grant(e.ctx, channels.ConsentChange{Channel: "sms", Address: "+66899999999", Source: "sms_inbound:START"})
	require.NoError(t, err)
	sup, _, err = e.store.Suppressed(e.ctx, "phone", "+66899999999")
	require.NoError(t, err)
	require.False(t, sup)

	// Feedback: a complaint suppresses; the gate then refuses even
	// transactional mail.
	require.NoError(t, ad.Suppress(e.ctx, channels.Suppression{Channel: "email", Address: "a@x.com", Reason: "complaint", Source: "feedback:ses"}))
	require.Equal(t, ReasonSuppressed, check("email", channels.Message{ProfileID: ids[0], Purpose: "transactional", Transactional: true, To: "a@x.com"}))

	// Events land on the profile, once per message id.
	for i := 0; i < 2; i++ {
		require.NoError(t, ad.RecordEvent(e.ctx, channels.Event{Name: "email_opened", ProfileID: ids[1], MessageID: "open-1", Timestamp: e.clk.Now(), Properties: map[string]any{"campaign": "x"}}))
		require.NoError(t, ad.RecordEvent(e.ctx, channels.Event{Name: "email_clicked", Channel: "email", Address: "b@x.com", MessageID: "click-1", Timestamp: e.clk.Now()}))
	}
	evs, err := e.store.Events(e.ctx, ids[1], 10)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.NoError(t, ad.RecordEvent(e.ctx, channels.Event{Name: "email_opened", Channel: "email", Address: "nobody@x.com", MessageID: "x", Timestamp: e.clk.Now()}), "unknown people are dropped")
	require.NoError(t, ad.DropDeviceToken(e.ctx, "tok-123", time.Now(), "unregistered"))
}
