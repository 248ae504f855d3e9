package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/sms"
)

// TestNoWebhookReplays (item 9): inbound SMS webhooks are de-duplicated by
// MessageSid, so a captured START replayed after a STOP changes nothing;
// START restores only what STOP withdrew; SNS messages outside the
// freshness window or already handled are refused.
func TestNoWebhookReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) { c.SESTopicARNs = []string{"arn:aws:sns:us-east-1:1:ses"} })
	ann := e.person(map[string]any{"user_id": "ann", "phone": "+66812345678"}, "marketing/sms")
	bob := e.person(map[string]any{"user_id": "bob", "phone": "+66812345679"})
	post := func(from, body, sid string) string {
		form := url.Values{"From": {from}, "To": {"+15005550006"}, "Body": {body}, "MessageSid": {sid}}
		resp, out := e.postForm(e.ts.URL+"/webhooks/twilio/sms", form, sms.SignatureHeader, sms.Signature(twilioToken, e.ts.URL+"/webhooks/twilio/sms", form))
		require.Equal(t, 200, resp.StatusCode, out)
		return out
	}
	post("+66812345678", "STOP", "SM1")
	require.False(t, e.granted(ann, "marketing", "sms"))
	e.clk.Advance(time.Minute)
	post("+66812345678", "START", "SM2")
	require.True(t, e.granted(ann, "marketing", "sms"), "START restores what STOP withdrew")
	require.False(t, e.granted(ann, "personalisation", "sms"), "but grants nothing the person never gave")
	e.clk.Advance(time.Minute)
	post("+66812345678", "STOP", "SM3")
	e.clk.Advance(time.Minute)
	n := e.counts().ConsentEntries
	out := post("+66812345678", "START", "SM2") // the captured START, replayed
	require.NotContains(t, out, "<Message>")
	require.False(t, e.granted(ann, "marketing", "sms"))
	require.Equal(t, n, e.counts().ConsentEntries)

	// Someone who never granted gets nothing from START.
	post("+66812345679", "START", "SM4")
	require.False(t, e.granted(bob, "marketing", "sms"))

	// SNS: a stale message and a repeated one are refused.
	sns := newTestSNS(t, e)
	inner := `{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"x@example.com"}],"timestamp":"2026-03-02T08:00:00Z","feedbackId":"c-1"},"mail":{"messageId":"ses-1","timestamp":"2026-03-02T07:59:00Z","destination":["x@example.com"]}}`
	signed := func(id, ts string) string { return sns.signAt(t, "arn:aws:sns:us-east-1:1:ses", id, ts, inner) }
	now := e.clk.Now()
	suppressions := e.counts().Suppressions // ann's number, suppressed by her last STOP
	code, body, _ := e.do("POST", "/webhooks/ses", "", signed("m-old", now.Add(-2*time.Hour).Format(time.RFC3339Nano)))
	require.Equal(t, http.StatusForbidden, code, string(body))
	_, field := errCode(t, body)
	require.Equal(t, "Timestamp", field)
	require.Equal(t, suppressions, e.counts().Suppressions, "a stale notification changes nothing")
	fresh := signed("m-1", now.Add(-time.Minute).Format(time.RFC3339Nano))
	code, body, _ = e.do("POST", "/webhooks/ses", "", fresh)
	require.Equal(t, http.StatusNoContent, code, string(body))
	_, metrics := e.get(e.ts.URL + "/metrics")
	require.True(t, strings.Contains(metrics, `tact_ingest_rejected_total{reason="webhook_replay"} 1`), "the SMS replay")
	code, body, _ = e.do("POST", "/webhooks/ses", "", fresh)
	require.Equal(t, http.StatusNoContent, code, string(body))
	_, metrics = e.get(e.ts.URL + "/metrics")
	require.True(t, strings.Contains(metrics, `tact_ingest_rejected_total{reason="webhook_replay"} 2`), "SM2 and m-1")
}
