package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/channels/webhook"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/journeys"
)

// postForm posts a form as a browser or mailbox provider would: no
// cookies, no redirects followed.
func (e *env) postForm(rawURL string, form url.Values, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", rawURL, strings.NewReader(form.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) get(rawURL string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestOneClickUnsubscribe performs RFC 8058 one-click as a mailbox provider
// does: a POST to the List-Unsubscribe URL with the fixed body, no cookies,
// no login; 200, no redirect; the withdrawal holds for the next send.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish(welcomePro)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "plan": "pro"}, "marketing/email", "marketing/sms")
	link := e.link("unsubscribe", id, "marketing", "email")
	require.True(t, strings.HasPrefix(link, e.ts.URL+"/unsubscribe?token="))

	// GET (link scanners, the person's click) shows a page, changes nothing.
	resp, body := e.get(link, "Accept-Language", "th-TH,th;q=0.9,en;q=0.5")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, body, `<html lang="th">`)
	require.Contains(t, body, `name="List-Unsubscribe" value="One-Click"`)
	require.True(t, e.granted(id, "marketing", "email"))
	ledger := e.counts().ConsentEntries

	// Forged, altered and malformed tokens are refused and change nothing.
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	altered := []byte(tok)
	altered[len(altered)/2] ^= 1
	if altered[len(altered)/2] == tok[len(tok)/2] {
		altered[len(altered)/2] = 'A'
	}
	other, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}, Now: e.clk.Now})
	require.NoError(t, err)
	forged, err := other.Issue(id, "marketing", "email")
	require.NoError(t, err)
	for name, bad := range map[string]string{"altered": string(altered), "forged": forged, "garbage": "hello", "empty": ""} {
		resp, body := e.postForm(e.ts.URL+"/unsubscribe?token="+url.QueryEscape(bad), url.Values{"List-Unsubscribe": {"One-Click"}})
		require.Contains(t, []int{400, 403}, resp.StatusCode, "%s: %s", name, body)
	}
	// The body must be the RFC 8058 one.
	resp, _ = e.postForm(link, url.Values{"List-Unsubscribe": {"Yes"}})
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, ledger, e.counts().ConsentEntries)
	require.True(t, e.granted(id, "marketing", "email"))

	// The provider's POST.
	resp, body = e.postForm(link, url.Values{"List-Unsubscribe": {"One-Click"}}, "User-Agent", "GoogleOneClick/1.0")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Empty(t, resp.Header.Get("Location"))
	require.Empty(t, resp.Header.Values("Set-Cookie"))
	require.False(t, e.granted(id, "marketing", "email"))
	require.True(t, e.granted(id, "marketing", "sms"), "only the link's channel is withdrawn")
	entries, err := e.store.ConsentLedger(e.ctx, id)
	require.NoError(t, err)
	last := entries[len(entries)-1]
	require.Equal(t, "one_click_unsubscribe", last.Source)

	// Repeats (providers retry) are harmless and add nothing.
	n := e.counts().ConsentEntries
	body2 := &bytes.Buffer{}
	mw := multipart.NewWriter(body2)
	require.NoError(t, mw.WriteField("List-Unsubscribe", "One-Click"))
	require.NoError(t, mw.Close())
	req, _ := http.NewRequest("POST", link, body2)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	mresp, err := noRedirect.Do(req)
	require.NoError(t, err)
	mresp.Body.Close()
	require.Equal(t, 200, mresp.StatusCode)
	require.Equal(t, n, e.counts().ConsentEntries)

	// The very next send decision honours it: the journey sends nothing.
	_, err = e.runner.ProfilesChanged(e.ctx, []int64{id})
	require.NoError(t, err)
	e.tick()
	require.Equal(t, 0, e.email.sentTo(id))

	// Tokens stay valid for at least 60 days, and expire after their TTL.
	e.clk.Advance(61 * 24 * time.Hour)
	resp, _ = e.get(link)
	require.Equal(t, 200, resp.StatusCode)
	e.clk.Advance(40 * 24 * time.Hour)
	resp, body = e.postForm(link, url.Values{"List-Unsubscribe": {"One-Click"}})
	require.Equal(t, http.StatusGone, resp.StatusCode, body)
	resp, _ = e.get(link)
	require.Equal(t, http.StatusGone, resp.StatusCode)
}

// TestPreferenceCentreWithoutJavaScript uses the pages as plain HTML forms.
func TestPreferenceCentreWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "phone": "+66812345678"}, "marketing/email")
	link := e.link("preferences", id, "marketing", "email")
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")

	resp, body := e.get(link + "&lang=th")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, body, `<html lang="th">`)
	require.Contains(t, body, "ข้อเสนอและข่าวสาร")
	require.NotContains(t, body, "<script")
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	// Every control has a label; each choice is a fieldset with a legend.
	require.Equal(t, strings.Count(body, `type="radio"`), strings.Count(body, `<label for=`))
	require.Contains(t, body, "<legend>")
	require.Contains(t, body, `name="c.marketing.email" value="granted" checked`)
	require.Contains(t, body, `name="c.marketing.sms" value="withdrawn" checked`)

	// English by Accept-Language.
	_, body = e.get(link, "Accept-Language", "en-GB,en;q=0.8")
	require.Contains(t, body, "Offers and news")

	// Grant sms, withdraw email: one form post each way, same clicks.
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {tok}, "lang": {"en"}, "action": {"save"},
		"c.marketing.email": {"withdrawn"}, "c.marketing.sms": {"granted"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.False(t, e.granted(id, "marketing", "email"))
	require.True(t, e.granted(id, "marketing", "sms"))
	_, body = e.get(e.ts.URL + resp.Header.Get("Location"))
	require.Contains(t, body, "Your choices are saved.")

	// Withdraw everything with one button.
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {tok}, "action": {"withdraw_all"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, p := range []string{"marketing", "analytics", "personalisation"} {
		for _, c := range []string{"email", "sms"} {
			require.False(t, e.granted(id, p, c), p+"/"+c)
		}
	}

	// Bad values and bad tokens change nothing.
	n := e.counts().ConsentEntries
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {tok}, "action": {"save"}, "c.marketing.email": {"sure"}})
	require.Equal(t, 400, resp.StatusCode)
	resp, _ = e.postForm(e.ts.URL+"/preferences", url.Values{"token": {tok + "x"}, "action": {"save"}, "c.marketing.email": {"granted"}})
	require.Contains(t, []int{400, 403}, resp.StatusCode)
	require.Equal(t, n, e.counts().ConsentEntries)

	// Download my data after confirming a code sent to the address.
	resp, body = e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {tok}, "lang": {"en"}})
	require.Equal(t, 200, resp.StatusCode, body)
	to, code := e.codes.last()
	require.Equal(t, "u1@example.com", to.Address)
	require.Len(t, code, 6)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	resp, _ = e.postForm(e.ts.URL+"/preferences/export", url.Values{"token": {tok}, "code": {wrong}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, body = e.postForm(e.ts.URL+"/preferences/export", url.Values{"token": {tok}, "code": {code}})
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	require.Contains(t, body, `"schema": "tact.privacy.export/v1"`)
	require.Contains(t, body, "preference_centre")
	// A code works once.
	resp, _ = e.postForm(e.ts.URL+"/preferences/export", url.Values{"token": {tok}, "code": {code}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// After erasure the link shows that nothing is held; one-click still
	// answers 200 (the outcome asked for holds).
	code2, body2, _ := e.do("POST", "/api/v1/privacy/erase", tokAdmin, map[string]any{"user": "u1"})
	require.Equal(t, 200, code2, string(body2))
	resp, body = e.get(link)
	require.Equal(t, http.StatusGone, resp.StatusCode)
	require.Contains(t, body, "We no longer hold any data about you.")
	unsub := e.link("unsubscribe", id, "marketing", "email")
	resp, _ = e.postForm(unsub, url.Values{"List-Unsubscribe": {"One-Click"}})
	require.Equal(t, 200, resp.StatusCode)
}

// TestRateLimits: public endpoints limit per client address and per token.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) {
		c.RateLimit = RateLimitConfig{PerIP: 1, PerIPBurst: 30, PerToken: 1, PerTokBurst: 3}
	})
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	link := e.link("unsubscribe", id, "marketing", "email")
	codes := []int{}
	for i := 0; i < 5; i++ {
		resp, _ := e.get(link)
		codes = append(codes, resp.StatusCode)
	}
	require.Equal(t, []int{200, 200, 200, 429, 429}, codes)
	// Another token from the same address still works until the IP bucket
	// runs dry.
	link2 := e.link("preferences", id, "marketing", "email")
	resp, _ := e.get(link2)
	require.Equal(t, 200, resp.StatusCode)
	for i := 0; i < 40; i++ {
		resp, _ = e.get(e.ts.URL + "/unsubscribe?token=x" + itoa(int64(i)))
	}
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	// Time refills the buckets.
	e.clk.Advance(time.Minute)
	resp, _ = e.get(link)
	require.Equal(t, 200, resp.StatusCode)
}

// TestSMSWebhooks: inbound keywords and status callbacks are verified by
// their Twilio signature and reach the consent ledger and suppressions.
func TestSMSWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "phone": "+66812345678"}, "marketing/sms", "analytics/sms", "transactional/sms")
	post := func(path string, form url.Values, sign bool) (*http.Response, string) {
		sig := "bogus"
		if sign {
			sig = sms.Signature(twilioToken, e.ts.URL+path, form)
		}
		return e.postForm(e.ts.URL+path, form, sms.SignatureHeader, sig)
	}
	stop := url.Values{"From": {"+66812345678"}, "To": {"+15005550006"}, "Body": {" stop "}, "MessageSid": {"SM1"}, "AccountSid": {"AC1"}}
	resp, _ := post("/webhooks/twilio/sms", stop, false)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.True(t, e.granted(id, "marketing", "sms"))

	resp, body := post("/webhooks/twilio/sms", stop, true)
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, "You are unsubscribed.")
	require.False(t, e.granted(id, "marketing", "sms"))
	require.False(t, e.granted(id, "analytics", "sms"))
	require.True(t, e.granted(id, "transactional", "sms"))
	// At most one confirmation.
	_, body = post("/webhooks/twilio/sms", stop, true)
	require.NotContains(t, body, "You are unsubscribed.")

	help := url.Values{"From": {"+66812345678"}, "To": {"+15005550006"}, "Body": {"HELP"}, "MessageSid": {"SM2"}}
	_, body = post("/webhooks/twilio/sms", help, true)
	require.Contains(t, body, "Reply STOP to cancel")

	e.clk.Advance(time.Minute) // a tie at one instant goes to the withdrawal
	start := url.Values{"From": {"+66812345678"}, "To": {"+15005550006"}, "Body": {"START"}, "MessageSid": {"SM3"}}
	resp, _ = post("/webhooks/twilio/sms", start, true)
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, e.granted(id, "marketing", "sms"))

	// A delivery failure that means the number is dead suppresses it.
	status := url.Values{"MessageSid": {"SM9"}, "MessageStatus": {"undelivered"}, "To": {"+66812345678"}, "ErrorCode": {"30005"}}
	resp, _ = post("/webhooks/twilio/status", status, false)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, body = post("/webhooks/twilio/status", status, true)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	sup, reason, err := e.store.Suppressed(e.ctx, "phone", "+66812345678")
	require.NoError(t, err)
	require.True(t, sup)
	require.Equal(t, "hard_bounce", reason)
}

// TestOperations: health, readiness, metrics and graceful shutdown with
// requests in flight.
func TestOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	code, body, _ := e.do("GET", "/healthz", "", nil)
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("GET", "/readyz", "", nil)
	require.Equal(t, 200, code, string(body))
	code, body = e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "E", "properties": map[string]any{"email": "secret@example.com"}})
	require.Equal(t, 200, code, string(body))
	code, body, _ = e.do("GET", "/metrics", "", nil)
	require.Equal(t, 200, code)
	for _, m := range []string{`tact_ingest_messages_total{type="track"} 1`, "tact_ingest_queue_depth 0", "tact_http_request_seconds", "tact_ingest_flush_seconds"} {
		require.Contains(t, string(body), m)
	}
	require.NotContains(t, string(body), "secret@example.com")
}

// TestGracefulShutdown: cancelling Serve finishes in-flight ingestion (all
// acknowledged events are stored), then refuses new work.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) { c.Ingest.FlushInterval = 30 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	started := make(chan struct{}, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", base+"/v1/track", strings.NewReader(`{"userId":"u`+itoa(int64(i))+`","event":"E","messageId":"g`+itoa(int64(i))+`"}`))
			req.SetBasicAuth(testWriteKey, "")
			started <- struct{}{}
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked++
					mu.Unlock()
				}
			}
		}(i)
	}
	for i := 0; i < 8; i++ {
		<-started
	}
	cancel()
	wg.Wait()
	require.NoError(t, <-served)
	require.Equal(t, acked, e.counts().Events, "every acknowledged event is stored")
	code, _, _ := e.do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	code, body := e.ingest("/v1/track", map[string]any{"userId": "late", "event": "E"})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
}

// TestSchedulerLoop: the server runs the journey scheduler, which ticks
// at once and then as soon as ingestion commits (the interval is an hour).
func TestSchedulerLoop(t *testing.T) {
	t.Parallel()
	ticks := make(chan struct{}, 100)
	e := newEnv(t, func(c *Config, o *Options) { c.SchedulerInterval = time.Hour })
	e.srv.StartScheduler(journeys.NewScheduler(e.runner, journeys.SchedulerConfig{Interval: time.Hour,
		OnTick: func(journeys.TickResult, error) { ticks <- struct{}{} }}))
	wait := func(what string) {
		select {
		case <-ticks:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}
	wait("no first tick")
	code, body := e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "E"})
	require.Equal(t, 200, code, string(body))
	wait("no tick after ingestion")
}

// TestEmailFeedbackWebhooks: SES notifications at the secret path and
// signed bounce/complaint reports suppress and withdraw.
func TestEmailFeedbackWebhooks(t *testing.T) {
	t.Parallel()
	const sesKey = "ses-path-secret-0123456789abcdef"
	const fbSecret = "feedback-secret-0123456789abcdef"
	e := newEnv(t, func(c *Config, _ *Options) {
		c.SESWebhookKey = sesKey
		c.SESTopicARNs = []string{"arn:aws:sns:us-east-1:1:ses"}
		c.FeedbackSecrets = []string{fbSecret}
	})
	jane := e.person(map[string]any{"user_id": "jane", "email": "jane@example.com"}, "marketing/email")
	angry := e.person(map[string]any{"user_id": "angry", "email": "angry@example.net"}, "marketing/email")

	sns := newTestSNS(t, e)
	inner := `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"Jane@Example.com"}],"timestamp":"2026-03-02T08:00:00Z","feedbackId":"fb-1"},"mail":{"messageId":"ses-1","timestamp":"2026-03-02T07:59:00Z","destination":["jane@example.com"]}}`
	bounce := sns.sign(t, "arn:aws:sns:us-east-1:1:ses", inner)
	code, body, _ := e.do("POST", "/webhooks/ses/wrong-key-wrong-key-wrong-key", "", bounce)
	require.Equal(t, 404, code, string(body))
	code, body, _ = e.do("POST", "/webhooks/ses", "", bounce)
	require.Equal(t, 404, code, "the key is required when configured: %s", body)
	// Tampered, unsigned and foreign-topic messages are refused.
	tampered := strings.Replace(bounce, "Jane@Example.com", "Other@Example.com", 1)
	code, body, _ = e.do("POST", "/webhooks/ses/"+sesKey, "", tampered)
	require.Equal(t, 403, code, string(body))
	code, body, _ = e.do("POST", "/webhooks/ses/"+sesKey, "", sns.sign(t, "arn:aws:sns:us-east-1:666:theirs", inner))
	require.Equal(t, 403, code, string(body))
	sup, _, err := e.store.Suppressed(e.ctx, "email", "jane@example.com")
	require.NoError(t, err)
	require.False(t, sup)
	code, body, _ = e.do("POST", "/webhooks/ses/"+sesKey, "", bounce)
	require.Equal(t, 204, code, string(body))
	sup, reason, err := e.store.Suppressed(e.ctx, "email", "jane@example.com")
	require.NoError(t, err)
	require.True(t, sup)
	require.Equal(t, "hard_bounce", reason)
	_ = jane

	arf := "From: fbl@isp.example\r\nDate: Mon, 02 Mar 2026 09:30:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n" +
		"--F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report\r\n" +
		"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: X/1.0\r\nVersion: 1\r\n\r\n" +
		"--F\r\nContent-Type: message/rfc822\r\n\r\nFrom: hello@example.com\r\nTo: Angry <angry@example.net>\r\nMessage-ID: <tact.m@example.com>\r\n\r\nbody\r\n" +
		"--F--\r\n"
	e.clk.Advance(time.Hour) // the report arrives after the complaint (09:30)
	ts := e.clk.Now().Unix()
	sig := webhook.Sign([][]byte{[]byte(fbSecret)}, ts, []byte(arf))
	code, body, _ = e.do("POST", "/webhooks/email/report", "", arf, webhook.SignatureHeader, "v1=00", webhook.TimestampHeader, itoa(ts))
	require.Equal(t, 403, code, string(body))
	require.True(t, e.granted(angry, "marketing", "email"))
	code, body, _ = e.do("POST", "/webhooks/email/report", "", arf, webhook.SignatureHeader, sig, webhook.TimestampHeader, itoa(ts))
	require.Equal(t, 204, code, string(body))
	require.False(t, e.granted(angry, "marketing", "email"))
	sup, reason, err = e.store.Suppressed(e.ctx, "email", "angry@example.net")
	require.NoError(t, err)
	require.True(t, sup)
	require.Equal(t, "complaint", reason)
}

// TestFileCodeSender: the code goes out through the file email channel.
func TestFileCodeSender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cs, err := NewFileCodeSender(dir, email.Address{Name: "Tact", Address: "privacy@example.com"}, clock.NewManual(t0))
	require.NoError(t, err)
	require.NoError(t, cs.SendCode(context.Background(), CodeRecipient{ProfileID: 7, Channel: "email", Address: "ada@example.com", Lang: "th"}, "123456"))
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, 1)
	raw, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
	require.NoError(t, err)
	require.Contains(t, string(raw), "To: <ada@example.com>")
	require.NotContains(t, string(raw), "List-Unsubscribe", "a transactional message")
}

// testSNS signs SNS envelopes with a self-signed certificate the server
// fetches through its injectable fetcher.
type testSNS struct {
	key     *rsa.PrivateKey
	certURL string
}

func newTestSNS(t *testing.T, e *env) *testSNS {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ts := &testSNS{key: key, certURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"}
	require.NoError(t, checkSNSCertURL(ts.certURL))
	require.Error(t, checkSNSCertURL("https://evil.example.com/cert.pem"))
	e.srv.sns.setFetch(func(_ context.Context, u string) ([]byte, error) {
		if u != ts.certURL {
			return nil, errors.New("unknown certificate")
		}
		return certPEM, nil
	})
	return ts
}

func (s *testSNS) sign(t *testing.T, topic, message string) string {
	t.Helper()
	return s.signAt(t, topic, "sns-"+topic, "2026-03-02T08:00:01.000Z", message)
}

// signAt signs a notification with a given message id and timestamp.
func (s *testSNS) signAt(t *testing.T, topic, id, timestamp, message string) string {
	t.Helper()
	m := snsMessage{Type: "Notification", MessageID: id, TopicArn: topic, Message: message,
		Timestamp: timestamp, SignatureVersion: "2", SigningCertURL: s.certURL}
	text, err := snsStringToSign(&m)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(text))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// TestChannelSetLinks: links the channels sign (List-Unsubscribe in
// emails) verify at the server, and the channel set's email channel sends
// confirmation codes when its templates have CodeTemplate.
func TestChannelSetLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", CodeTemplate+".email.txt"), []byte(codeTemplateSrc), 0o644))
	clk := clock.NewManual(t0)
	set, err := setup.Build(channels.Config{Links: channels.LinksConfig{Keys: []channels.SecretRef{"env:LINKS"}}}, setup.Deps{
		BaseDir: dir, Now: clk.Now,
		LookupEnv: func(k string) (string, bool) {
			if k == "LINKS" {
				return "a-channel-link-secret-of-32-bytes-or-more", true
			}
			return "", false
		},
	})
	require.NoError(t, err)
	e := newEnv(t, func(c *Config, o *Options) {
		c.LinkKeys = nil // only the channels' signer
		o.Channels = set
		o.CodeSender = nil
	})
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	link, _, err := set.Links.Unsubscribe(id, "marketing", "email")
	require.NoError(t, err)
	u, _ := url.Parse(link)
	resp, body := e.postForm(e.ts.URL+u.RequestURI(), url.Values{"List-Unsubscribe": {"One-Click"}})
	require.Equal(t, 200, resp.StatusCode, body)
	require.False(t, e.granted(id, "marketing", "email"))

	prefs, _, err := set.Links.Preferences(id, "marketing", "email")
	require.NoError(t, err)
	pu, _ := url.Parse(prefs)
	resp, body = e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {pu.Query().Get("token")}})
	require.Equal(t, 200, resp.StatusCode, body)
	files, err := os.ReadDir(filepath.Join(dir, "outbox"))
	require.NoError(t, err)
	require.Len(t, files, 1, "the code went out through the channel set's email channel")
}

// TestExportCodeNeverGoesToASuppressedAddress: the confirmation code is a
// transactional message, so it needs no marketing consent but must not go
// to a bounced or complained address; the next usable address is used.
func TestExportCodeNeverGoesToASuppressedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com", "phone": "+66812345678"})
	tok := func() string {
		u, _ := url.Parse(e.link("preferences", id, "marketing", "email"))
		return u.Query().Get("token")
	}()
	require.NoError(t, e.store.Suppress(e.ctx, engine.KindEmail, "u1@example.com", engine.SuppressHardBounce, "test"))
	resp, body := e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {tok}, "lang": {"en"}})
	require.Equal(t, 200, resp.StatusCode, body)
	to, _ := e.codes.last()
	require.Equal(t, CodeRecipient{ProfileID: id, Channel: "sms", Address: "+66812345678", Lang: "en"}, to, "the bounced email is skipped")

	require.NoError(t, e.store.Suppress(e.ctx, engine.KindPhone, "+66812345678", engine.SuppressStop, "test"))
	e.codes.mu.Lock()
	e.codes.to = CodeRecipient{}
	e.codes.mu.Unlock()
	resp, _ = e.postForm(e.ts.URL+"/preferences/export/code", url.Values{"token": {tok}, "lang": {"en"}})
	require.Equal(t, 200, resp.StatusCode)
	to, _ = e.codes.last()
	require.Zero(t, to, "with every address suppressed no code is sent")
}
