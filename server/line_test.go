package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/line"
	"github.com/tactcdp/tact/channels/line/linetest"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
)

var lineSecret = []byte("line-channel-secret-for-tests")

const (
	lineU1 = "U11111111111111111111111111111111"
	lineU2 = "U22222222222222222222222222222222"
)

// newLINEEnv is a server whose channel set has a LINE adapter (against a
// loopback fake) and webhook receiver.
func newLINEEnv(t *testing.T) (*env, *linetest.Server) {
	t.Helper()
	fake := linetest.New(t)
	ts, err := templates.LoadFS(fstest.MapFS{"hi.line.json": {Data: []byte("---\npurpose: marketing\n---\n[{\"type\": \"text\", \"text\": \"hi\"}]")}})
	require.NoError(t, err)
	a, err := line.New(line.Config{ChannelAccessToken: linetest.Token, ProviderID: "2000000001", BaseURL: fake.URL(), Templates: ts})
	require.NoError(t, err)
	set := &setup.Set{Channels: map[string]channels.Channel{line.Name: a}, LINE: a, LINEWebhook: line.WebhookReceiver{Secret: lineSecret}}
	e := newEnv(t, func(_ *Config, o *Options) { o.Channels = set })
	return e, fake
}

// lineEvent is one webhook event in LINE's wire format.
func lineEvent(id, typ, user string, extra map[string]any) map[string]any {
	ev := map[string]any{"type": typ, "mode": "active", "timestamp": t0.UnixMilli(), "webhookEventId": id,
		"deliveryContext": map[string]any{"isRedelivery": false}, "source": map[string]any{"type": "user", "userId": user}}
	for k, v := range extra {
		ev[k] = v
	}
	return ev
}

// postLINE posts events signed with the channel secret; mutate, when set,
// changes the body after signing.
func (e *env) postLINE(mutate func([]byte) []byte, events ...map[string]any) (int, []byte) {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"destination": "Ubot", "events": events})
	require.NoError(e.t, err)
	sig := line.Sign(lineSecret, body)
	if mutate != nil {
		body = mutate(body)
	}
	code, out, _ := e.do(http.MethodPost, "/webhooks/line", "", body, line.SignatureHeader, sig)
	return code, out
}

func (e *env) lineReason(id int64) string {
	e.t.Helper()
	reason, _, err := e.store.EligiblePerson(e.ctx, eligibility.Request{Purpose: "marketing", Channel: "line", At: e.clk.Now()}, id)
	require.NoError(e.t, err)
	return reason
}

func TestLINEWebhookSignature(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
		status int
	}{
		{"signed", nil, http.StatusOK},
		{"one byte changed", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			i := strings.Index(string(c), lineU1[1:])
			c[i] = '3' // the user id 1111… becomes 3111…
			return c
		}, http.StatusUnauthorized},
		{"byte appended", func(b []byte) []byte { return append(append([]byte(nil), b...), ' ') }, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newLINEEnv(t)
			code, body := e.postLINE(tc.mutate, lineEvent("ev-1", "unfollow", lineU1, nil))
			require.Equal(t, tc.status, code, string(body))
			var n int
			require.NoError(t, e.store.DB().QueryRow(`SELECT count(*) FROM suppressions WHERE reason = 'unfollow'`).Scan(&n))
			if tc.status != http.StatusOK {
				c, field := errCode(t, body)
				require.Equal(t, "invalid_signature", c)
				require.Equal(t, "x-line-signature", field)
				require.Zero(t, n, "nothing applied before the signature checks")
				return
			}
			require.Equal(t, 1, n)
		})
	}
}

// TestLINEWebhookFollowUnfollow: unfollow makes the person unreachable
// (suppressed), a redelivered event changes nothing, follow lifts the
// unfollow suppression and links a new LINE user to a profile that an
// identify carrying line_user_id then joins.
func TestLINEWebhookFollowUnfollow(t *testing.T) {
	t.Parallel()
	e, _ := newLINEEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "line_user_id": lineU1}, "marketing/line")
	require.Empty(t, e.lineReason(id))

	code, body := e.postLINE(nil, lineEvent("ev-unfollow", "unfollow", lineU1, nil))
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, eligibility.Suppressed, e.lineReason(id))

	code, _ = e.postLINE(nil, lineEvent("ev-follow", "follow", lineU1, map[string]any{"follow": map[string]any{"isUnblocked": true}}))
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, e.lineReason(id), "follow lifts the unfollow suppression")

	code, _ = e.postLINE(nil, lineEvent("ev-unfollow", "unfollow", lineU1, nil)) // LINE redelivers
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, e.lineReason(id), "a redelivered event is not applied twice")

	// A follow never lifts another kind of suppression.
	require.NoError(t, e.store.Suppress(e.ctx, engine.KindLINEUserID, lineU1, engine.SuppressManual, "test"))
	code, _ = e.postLINE(nil, lineEvent("ev-follow-2", "follow", lineU1, nil))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, eligibility.Suppressed, e.lineReason(id))

	// A new friend: the follow links the LINE user to a profile; an
	// identify carrying line_user_id joins it to the customer.
	code, _ = e.postLINE(nil, lineEvent("ev-follow-new", "follow", lineU2, nil))
	require.Equal(t, http.StatusOK, code)
	anon, err := e.store.ResolveUser(e.ctx, lineU2)
	require.NoError(t, err)
	code, body = e.ingest("/v1/identify", map[string]any{"userId": "u2", "traits": map[string]any{"lineUserId": lineU2, "plan": "pro"}})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Eventually(t, func() bool {
		got, err := e.store.ResolveUser(e.ctx, "u2")
		return err == nil && got == anon
	}, 10*time.Second, 5*time.Millisecond)
	code, body = e.ingest("/v1/identify", map[string]any{"userId": "u3", "traits": map[string]any{"line_user_id": "not-a-line-id"}})
	require.Equal(t, http.StatusBadRequest, code, string(body))
}

// TestLINEWebhookEventsFollowTrackingConsent: message and postback events
// are stored for a tracked person and dropped (counted) for one who
// withdrew analytics; the message text is not stored.
func TestLINEWebhookEventsFollowTrackingConsent(t *testing.T) {
	t.Parallel()
	e, _ := newLINEEnv(t)
	tracked := e.person(map[string]any{"user_id": "u1", "line_user_id": lineU1})
	untracked := e.person(map[string]any{"user_id": "u2", "line_user_id": lineU2})
	e.withdrawAnalytics(untracked)
	msg := map[string]any{"replyToken": "r", "message": map[string]any{"id": "m1", "type": "text", "text": "my secret words"}}
	post := map[string]any{"replyToken": "r", "postback": map[string]any{"data": "action=buy&item=1"}}
	code, body := e.postLINE(nil,
		lineEvent("ev-m1", "message", lineU1, msg), lineEvent("ev-p1", "postback", lineU1, post),
		lineEvent("ev-m2", "message", lineU2, msg), lineEvent("ev-p2", "postback", lineU2, post))
	require.Equal(t, http.StatusOK, code, string(body))
	count := func(id int64) (n int) {
		require.NoError(t, e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE profile_id = ? AND event IN ('line_message', 'line_postback')`, id).Scan(&n))
		return n
	}
	require.Equal(t, 2, count(tracked))
	require.Zero(t, count(untracked))
	var leaked int
	require.NoError(t, e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE CAST(properties AS VARCHAR) LIKE '%secret%'`).Scan(&leaked))
	require.Zero(t, leaked)
}

func (e *env) withdrawAnalytics(id int64) {
	e.t.Helper()
	require.NoError(e.t, e.store.RecordConsent(e.ctx, engine.ConsentInput{ProfileID: id, Purpose: engine.PurposeAnalytics, Channel: "*", Status: "withdrawn", Source: "test"}))
}

// TestLINEHealthAndMetrics: /readyz and /metrics report the LINE channel's
// pause (monthly quota exhausted); without LINE the webhook is 501.
func TestLINEHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e, fake := newLINEEnv(t)
	fake.Set(func(f *linetest.Server) { f.Limit, f.Usage = 1, 1 })
	a := e.srv.line.adapter
	res := a.Send(e.ctx, []channels.Message{{IdempotencyKey: "k1", ProfileID: 1, Purpose: "marketing", Template: "hi", To: lineU1}})
	require.Equal(t, channels.StatusTransient, res[0].Status)
	require.True(t, a.Paused())

	code, body, _ := e.do(http.MethodGet, "/readyz", "", nil)
	require.Equal(t, http.StatusOK, code)
	var ready struct {
		Line struct {
			Paused bool `json:"paused"`
		} `json:"line"`
	}
	require.NoError(t, json.Unmarshal(body, &ready))
	require.True(t, ready.Line.Paused, string(body))
	_, body, _ = e.do(http.MethodGet, "/metrics", "", nil)
	require.Contains(t, string(body), "tact_line_paused 1")

	plain := newEnv(t)
	code, body = plain.postLINE(nil, lineEvent("ev-1", "unfollow", lineU1, nil))
	require.Equal(t, http.StatusNotImplemented, code, fmt.Sprint(string(body)))
}
