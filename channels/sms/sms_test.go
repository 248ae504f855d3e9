package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

var t0 = time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)

func TestCountSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		enc      Encoding
		units    int
		segments int
	}{
		{"empty", "", GSM7, 0, 0},
		{"160 gsm", strings.Repeat("a", 160), GSM7, 160, 1},
		{"161 gsm", strings.Repeat("a", 161), GSM7, 161, 2},
		{"306 gsm", strings.Repeat("a", 306), GSM7, 306, 2},
		{"307 gsm", strings.Repeat("a", 307), GSM7, 307, 3},
		{"extended counts two", strings.Repeat("€", 80), GSM7, 160, 1},
		{"extended 81", strings.Repeat("€", 81), GSM7, 162, 2},
		// 152 septets then an escape pair: it cannot straddle the boundary.
		{"escape pair not split", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10), GSM7, 164, 2},
		{"escape pair pushed", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 152), GSM7, 306, 3},
		{"gsm accents", "Café déjà vu à Ñoño", GSM7, 19, 1},
		{"acute a is not gsm", "Ñandú", UCS2, 5, 1},
		{"non-gsm accent forces ucs2", "naïve", UCS2, 5, 1},
		{"70 thai", strings.Repeat("ก", 70), UCS2, 70, 1},
		{"71 thai", strings.Repeat("ก", 71), UCS2, 71, 2},
		{"134 thai", strings.Repeat("ก", 134), UCS2, 134, 2},
		{"135 thai", strings.Repeat("ก", 135), UCS2, 135, 3},
		{"emoji is two units", strings.Repeat("😀", 35), UCS2, 70, 1},
		// 66 units then a surrogate pair: moves to the next part.
		{"surrogate not split", strings.Repeat("ก", 66) + "😀" + strings.Repeat("ก", 5), UCS2, 73, 2},
		{"surrogate pushed", strings.Repeat("ก", 66) + "😀" + strings.Repeat("ก", 66), UCS2, 134, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CountSegments(tc.body)
			require.Equal(t, tc.enc, got.Encoding)
			require.Equal(t, tc.units, got.Units)
			require.Equal(t, tc.segments, got.Segments)
		})
	}
}

// fakeTwilio speaks Twilio's Messages API on loopback, with Twilio's magic
// test numbers and real error bodies.
type fakeTwilio struct {
	mu   sync.Mutex
	got  []url.Values
	keys []string
}

const (
	testSID   = "AC00000000000000000000000000000001"
	testToken = "tok3n"
)

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	writeErr := func(status, code int, msg string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
		})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		writeErr(404, 20404, "The requested resource was not found")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken {
		writeErr(401, 20003, "Authenticate")
		return
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeErr(400, 20001, "bad content type")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeErr(400, 20001, "bad form")
		return
	}
	f.mu.Lock()
	f.got = append(f.got, r.PostForm)
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.mu.Unlock()
	if r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "" {
		writeErr(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	}
	switch to := r.PostForm.Get("To"); to {
	case "+15005550001":
		writeErr(400, 21211, "The 'To' number "+to+" is not a valid phone number.")
	case "+15005550002":
		writeErr(400, 21612, "The 'To' phone number: "+to+", is not currently reachable using the 'From' phone number: +15005550006 via SMS.")
	case "+15005550004":
		writeErr(400, 21610, "Attempt to send to unsubscribed recipient")
	case "+15005550009":
		writeErr(400, 21614, "'To' number is not a valid mobile number")
	case "+15005550010":
		w.Header().Set("Retry-After", "2")
		writeErr(429, 20429, "Too Many Requests")
	case "+15005550011":
		writeErr(503, 20500, "Service unavailable")
	default:
		seg := CountSegments(r.PostForm.Get("Body")).Segments
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sid": "SM" + strings.Repeat("a", 32), "status": "queued", "to": to, "from": r.PostForm.Get("From"),
			"body": r.PostForm.Get("Body"), "num_segments": fmt.Sprint(seg), "error_code": nil, "error_message": nil,
		})
	}
}

func newTwilio(t *testing.T, srv *httptest.Server, mut func(*TwilioConfig)) *Twilio {
	t.Helper()
	ts, err := templates.Load(filepath.Join("..", "..", "testdata", "templates"))
	require.NoError(t, err)
	cfg := TwilioConfig{
		AccountSID: testSID, AuthToken: testToken, From: "+15005550006", BaseURL: srv.URL,
		StatusCallback: "https://tact.example.com/webhooks/twilio/status",
		Templates:      ts, HTTPClient: srv.Client(), Now: func() time.Time { return t0 },
	}
	if mut != nil {
		mut(&cfg)
	}
	tw, err := NewTwilio(cfg)
	require.NoError(t, err)
	return tw
}

func flash(to string) channels.Message {
	return channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("flash", 1, "sms", 9, t0), ProfileID: 9,
		Purpose: "marketing", To: to, Template: "flash_sale", Timezone: "Asia/Bangkok",
		Traits: map[string]any{"first_name": "มาลี"}, Payload: map[string]any{"discount_code": "THAI30"},
	}
}

func TestTwilioSendThai(t *testing.T) {
	t.Parallel()
	fake := &fakeTwilio{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tw := newTwilio(t, srv, nil)
	m := flash("+66812345678")
	res := tw.Send(context.Background(), []channels.Message{m})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, "SM"+strings.Repeat("a", 32), res[0].ProviderMessageID)
	require.Equal(t, 2, res[0].Units)
	require.Len(t, fake.got, 1)
	f := fake.got[0]
	want := "Tact Coffee: คุณมาลี ลด 30% วันนี้เท่านั้น! ใช้โค้ด THAI30 ที่สาขาใกล้คุณ ตอบ STOP เพื่อยกเลิก"
	require.Equal(t, want, f.Get("Body"))
	require.Equal(t, "+66812345678", f.Get("To"))
	require.Equal(t, "+15005550006", f.Get("From"))
	require.Equal(t, "https://tact.example.com/webhooks/twilio/status?tact_key="+m.IdempotencyKey, f.Get("StatusCallback"))
	require.Equal(t, m.IdempotencyKey, fake.keys[0])
	seg := CountSegments(want)
	require.Equal(t, UCS2, seg.Encoding)
	require.Equal(t, 2, seg.Segments)
}

func TestTwilioErrorMapping(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&fakeTwilio{})
	defer srv.Close()
	tw := newTwilio(t, srv, nil)
	tests := []struct {
		to       string
		status   channels.Status
		reason   string
		suppress bool
		optedOut bool
	}{
		{"+15005550006", channels.StatusDelivered, "", false, false},
		{"+15005550001", channels.StatusPermanent, "twilio:21211", true, false},
		{"+15005550002", channels.StatusPermanent, "twilio:21612", false, false},
		{"+15005550004", channels.StatusPermanent, "twilio:21610", false, true},
		{"+15005550009", channels.StatusPermanent, "twilio:21614", true, false},
		{"+15005550010", channels.StatusTransient, "twilio:20429", false, false},
		{"+15005550011", channels.StatusTransient, "twilio:20500", false, false},
		{"0812345678", channels.StatusPermanent, "invalid_address", false, false},
	}
	batch := make([]channels.Message, len(tests))
	for i, tc := range tests {
		batch[i] = flash(tc.to)
	}
	res := tw.Send(context.Background(), batch)
	for i, tc := range tests {
		t.Run(tc.to, func(t *testing.T) {
			r := res[i]
			require.Equal(t, tc.status, r.Status, "%v", r.Err)
			require.Equal(t, tc.reason, r.Reason)
			require.Equal(t, tc.suppress, r.Suppress)
			require.Equal(t, tc.optedOut, r.OptedOut)
			if r.Err != nil {
				require.NotContains(t, r.Err.Error(), "5005550", "numbers are stripped from errors")
			}
		})
	}
	require.Equal(t, 2*time.Second, res[5].RetryAfter)

	bad := newTwilio(t, srv, func(c *TwilioConfig) { c.AuthToken = "wrong" })
	r := bad.Send(context.Background(), []channels.Message{flash("+15005550006")})[0]
	require.Equal(t, channels.StatusTransient, r.Status)
	require.Equal(t, "twilio:20003", r.Reason)

	long := newTwilio(t, srv, func(c *TwilioConfig) { c.MaxSegments = 1 })
	r = long.Send(context.Background(), []channels.Message{flash("+15005550006")})[0]
	require.Equal(t, channels.StatusPermanent, r.Status)
	require.ErrorIs(t, r.Err, channels.ErrTooLong)

	gated := newTwilio(t, srv, func(c *TwilioConfig) {
		c.Gate = channels.GateFunc(func(context.Context, string, channels.Message) (string, error) { return "suppressed", nil })
	})
	r = gated.Send(context.Background(), []channels.Message{flash("+15005550006")})[0]
	require.Equal(t, channels.StatusSkipped, r.Status)
}

// fakeRecorder keeps consent state per number.
type fakeRecorder struct {
	mu        sync.Mutex
	withdrawn map[string]bool
	changes   []channels.ConsentChange
}

func (f *fakeRecorder) Withdraw(_ context.Context, c channels.ConsentChange) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, c)
	changed := !f.withdrawn[c.Address]
	f.withdrawn[c.Address] = true
	return changed, nil
}

func (f *fakeRecorder) Grant(_ context.Context, c channels.ConsentChange) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, c)
	changed := f.withdrawn[c.Address]
	f.withdrawn[c.Address] = false
	return changed, nil
}

func TestHandleInbound(t *testing.T) {
	t.Parallel()
	rec := &fakeRecorder{withdrawn: map[string]bool{}}
	cfg := InboundConfig{
		HelpText: "Tact Coffee: offers by SMS. Reply STOP to cancel.", StopText: "You are unsubscribed. Reply START to resubscribe.",
		StartText: "You are subscribed again.", ExtraStopWords: []string{"ยกเลิก"}, Now: func() time.Time { return t0 },
	}
	// Steps run in order against the same recorder.
	steps := []struct {
		body    string
		from    string
		action  Action
		changed bool
		reply   string
	}{
		{"STOP", "+66812345678", ActionOptOut, true, cfg.StopText},
		{"stop", "+66812345678", ActionOptOut, false, ""},
		{"  Stop. ", "+66812345678", ActionOptOut, false, ""},
		{"start", "+66812345678", ActionOptIn, true, cfg.StartText},
		{"YES", "+66812345678", ActionOptIn, false, ""},
		{"opt   out", "+66 81 234 5678", ActionOptOut, true, cfg.StopText},
		{"unstop", "+66812345678", ActionOptIn, true, cfg.StartText},
		{"help", "+66812345678", ActionHelp, false, cfg.HelpText},
		{"Info", "+66812345678", ActionHelp, false, cfg.HelpText},
		{"please stop texting", "+66812345678", ActionNone, false, ""},
		{"hello", "+66812345678", ActionNone, false, ""},
		{"ยกเลิก", "+66899999999", ActionOptOut, true, cfg.StopText},
	}
	for _, w := range []string{"STOPALL", "END", "CANCEL", "UNSUBSCRIBE", "QUIT", "REVOKE", "OPTOUT"} {
		steps = append(steps, struct {
			body    string
			from    string
			action  Action
			changed bool
			reply   string
		}{strings.ToLower(w), "+1555" + fmt.Sprint(len(steps)) + "000000", ActionOptOut, true, cfg.StopText})
	}
	for i, s := range steps {
		r, err := HandleInbound(context.Background(), rec, cfg, Inbound{From: s.from, To: "+15005550006", Body: s.body})
		require.NoError(t, err, "step %d", i)
		require.Equal(t, s.action, r.Action, "step %d %q", i, s.body)
		require.Equal(t, s.changed, r.Changed, "step %d %q", i, s.body)
		require.Equal(t, s.reply, r.Text, "step %d %q", i, s.body)
	}
	c := rec.changes[0]
	require.Equal(t, channels.ConsentChange{Channel: "sms", Address: "+66812345678", Sender: "+15005550006", At: t0, Source: "sms_inbound:STOP"}, c)
	require.Nil(t, c.Purposes, "all marketing purposes")
	require.Equal(t, "sms_inbound:OPT_OUT", rec.changes[5].Source)

	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Message>a &amp; b &lt;c&gt;</Message></Response>`, string(TwiML("a & b <c>")))
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Response></Response>", string(TwiML("")))
}

func TestSignature(t *testing.T) {
	t.Parallel()
	// The example from Twilio's security documentation and SDK test suites.
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	u := "https://mycompany.com/myapp.php?foo=1&bar=2"
	require.Equal(t, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", Signature("12345", u, params))
	require.True(t, ValidSignature("12345", u, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
	require.True(t, ValidSignature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
	require.False(t, ValidSignature("12345", u, url.Values{"CallSid": {"CA1234567890ABCDE"}}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
	require.False(t, ValidSignature("wrong", u, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
	require.False(t, ValidSignature("12345", u, params, ""))

	// VerifyRequest on a real loopback request.
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verr = VerifyRequest(r, "12345", "")
	}))
	defer srv.Close()
	form := url.Values{"From": {"+66812345678"}, "To": {"+15005550006"}, "Body": {"STOP"}}
	post := func(sig string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sms/inbound?x=1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(SignatureHeader, sig)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	post(Signature("12345", srv.URL+"/sms/inbound?x=1", form))
	require.NoError(t, verr)
	post("forged")
	require.ErrorIs(t, verr, ErrBadSignature)
}

func TestParseStatusCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, code string
		want         channels.FeedbackKind
	}{
		{"delivered", "", channels.FeedbackDelivered},
		{"read", "", channels.FeedbackOpened},
		{"undelivered", "30005", channels.FeedbackBounceHard},
		{"failed", "30006", channels.FeedbackBounceHard},
		{"undelivered", "30007", channels.FeedbackBounceSoft},
		{"failed", "21610", channels.FeedbackUnsubscribed},
		{"sent", "", ""},
		{"queued", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.status+tc.code, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {tc.status}, "To": {"+66812345678"},
				"From": {"+15005550006"}, "AccountSid": {testSID}, "ErrorCode": {tc.code}, StatusKeyParam: {"ik1_x"}}
			fbs, err := ParseStatusCallback(form, t0)
			require.NoError(t, err)
			if tc.want == "" {
				require.Empty(t, fbs)
				return
			}
			require.Len(t, fbs, 1)
			f := fbs[0]
			require.Equal(t, tc.want, f.Kind)
			require.Equal(t, "+66812345678", f.Address)
			require.Equal(t, "ik1_x", f.IdempotencyKey)
			require.Equal(t, "SM1", f.ProviderMessageID)
			require.Equal(t, "sms", f.Channel)
		})
	}
	_, err := ParseStatusCallback(url.Values{"MessageStatus": {"delivered"}}, t0)
	require.Error(t, err)
}

// TestTwilioRefusesAMessageWithABlankField: a template field without a
// value for the person is a permanent "render" failure, and Twilio is not
// called: no "Your code is ." goes out.
func TestTwilioRefusesAMessageWithABlankField(t *testing.T) {
	t.Parallel()
	fake := &fakeTwilio{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "code.sms.txt"), []byte("---\npurpose: transactional\n---\nYour code is {{ .payload.code }}."), 0o600))
	ts, err := templates.Load(dir)
	require.NoError(t, err)
	tw := newTwilio(t, srv, func(c *TwilioConfig) { c.Templates = ts })
	m := channels.Message{IdempotencyKey: channels.NewIdempotencyKey("otp", 1, "sms", 9, t0), ProfileID: 9,
		Purpose: "transactional", Transactional: true, To: "+66812345678", Template: "code"}
	res := tw.Send(context.Background(), []channels.Message{m})
	require.Equal(t, channels.StatusPermanent, res[0].Status)
	require.Equal(t, "render", res[0].Reason)
	require.ErrorContains(t, res[0].Err, "payload.code has no value")
	require.Empty(t, fake.got, "nothing reached the provider")
	m.Payload = map[string]any{"code": "482913"}
	res = tw.Send(context.Background(), []channels.Message{m})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, "Your code is 482913.", fake.got[0].Get("Body"))
}
