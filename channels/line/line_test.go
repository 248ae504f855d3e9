package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// t0 is 14:00 on 20 March 2025 in Tokyo.
var t0 = time.Date(2025, 3, 20, 5, 0, 0, 0, time.UTC)

// clock is an injected clock whose Sleep advances time instead of waiting.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func testTemplates(t testing.TB) *templates.Set {
	t.Helper()
	samples, err := templates.Load(filepath.Join("..", "..", "testdata", "templates"))
	require.NoError(t, err)
	extra, err := templates.LoadFS(fstest.MapFS{
		"hello.line.json": {Data: []byte("---\npurpose: marketing\n---\n[{\"type\": \"text\", \"text\": \"Hello {{ .traits.first_name | default \"friend\" }}\"}]")},
		"note.line.json":  {Data: []byte("---\npurpose: transactional\n---\n[{\"type\": \"text\", \"text\": \"{{ .payload.note }}\"}]")},
	})
	require.NoError(t, err)
	var all []*templates.Template
	for _, s := range []*templates.Set{samples, extra} {
		for _, n := range s.Names() {
			tt, err := s.Lookup(n)
			require.NoError(t, err)
			all = append(all, tt)
		}
	}
	set, err := templates.NewSet(all...)
	require.NoError(t, err)
	return set
}

func newAdapter(t testing.TB, f *fakeLINE, c *clock, mod func(*Config)) *Adapter {
	t.Helper()
	cfg := Config{
		ChannelAccessToken: fakeToken, ProviderID: "2000000001", BaseURL: f.URL(),
		Templates: testTemplates(t), Concurrency: 4, Now: c.Now, Sleep: c.Sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	require.NoError(t, err)
	return a
}

func userID(i int) string { return fmt.Sprintf("U%032x", i) }

// batch builds n messages for template tmpl; distinct gives every person
// their own first name (distinct content), otherwise all render the same.
func batch(n int, tmpl string, distinct bool) []channels.Message {
	out := make([]channels.Message, n)
	for i := range out {
		traits := map[string]any{}
		if distinct {
			traits["first_name"] = fmt.Sprintf("คน%d", i)
		}
		out[i] = channels.Message{
			IdempotencyKey: channels.NewIdempotencyKey("winback", 1, "send", int64(i+1), t0),
			ProfileID:      int64(i + 1), Journey: "winback", JourneyVersion: 1, Step: "send", Purpose: "marketing",
			To: userID(i), Template: tmpl, Traits: traits, Payload: map[string]any{"discount_code": "BACK30"},
		}
	}
	return out
}

// shift moves msgs to other people: profile and user ids from off on.
func shift(msgs []channels.Message, off int) []channels.Message {
	for i := range msgs {
		msgs[i].ProfileID = int64(off + i + 1)
		msgs[i].To = userID(off + i)
		msgs[i].IdempotencyKey = channels.NewIdempotencyKey("winback", 1, "send", int64(off+i+1), t0)
	}
	return msgs
}

func requireAll(t *testing.T, res []channels.Result, want channels.Status) {
	t.Helper()
	for i, r := range res {
		require.Equal(t, want, r.Status, "message %d: %s %v", i, r.Reason, r.Err)
	}
}

func TestSendGroupsIntoMulticastAndPush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		same, unique  int
		wantMulticast []int // recipients per multicast call, sorted descending
		wantPush      int
	}{
		{"10k people, one content", 10000, 0, repeat(500, 20), 0},
		{"501 people: a chunk of one still goes by multicast", 501, 0, []int{500, 1}, 0},
		{"distinct content goes by push", 0, 7, nil, 7},
		{"mixed", 1200, 3, []int{500, 500, 200}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLINE(t)
			a := newAdapter(t, f, &clock{now: t0}, nil)
			msgs := append(batch(tc.same, "line_welcome", false), shift(batch(tc.unique, "line_winback", true), 100000)...)
			res := a.Send(context.Background(), msgs)
			require.Len(t, res, len(msgs))
			requireAll(t, res, channels.StatusDelivered)
			calls, delivered, sizes := f.Snapshot()
			require.Equal(t, len(tc.wantMulticast), calls[pathMulticast])
			require.Equal(t, tc.wantPush, calls[pathPush])
			sortDesc(sizes)
			require.Equal(t, tc.wantMulticast, nilIfEmpty(sizes))
			require.Len(t, delivered, len(msgs), "every person once")
			for u, n := range delivered {
				require.Equal(t, 1, n, u)
			}
			for i := tc.same; i < len(msgs); i++ {
				require.Regexp(t, `^msg-req-\d+$`, res[i].ProviderMessageID, "push: the sent message id")
			}
			if tc.same > 1 {
				require.Regexp(t, `^req-\d+$`, res[0].ProviderMessageID, "multicast: the request id")
			}
		})
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func sortDesc(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] > s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func nilIfEmpty(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return s
}

// The provider accepts every call but the caller never sees an answer (it
// crashed, or the connection broke). Resending the same batch, in another
// order and from a new adapter (a restarted process), must not make LINE
// send a second message: the retry keys are the same and LINE answers 409.
func TestResendAfterCrashSendsNothingTwice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		msgs     []channels.Message
		wantCall string
	}{
		{"multicast", batch(1200, "line_welcome", false), pathMulticast},
		{"push", batch(20, "line_winback", true), pathPush},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLINE(t)
			f.Set(func(f *fakeLINE) { f.DropAfterAccept = true })
			c := &clock{now: t0}
			first := newAdapter(t, f, c, func(cfg *Config) { cfg.MaxAttempts = 1 })
			res := first.Send(context.Background(), tc.msgs)
			requireAll(t, res, channels.StatusTransient)
			_, delivered, _ := f.Snapshot()
			require.Len(t, delivered, len(tc.msgs), "the provider accepted everything")

			f.Set(func(f *fakeLINE) { f.DropAfterAccept = false })
			again := append([]channels.Message(nil), tc.msgs...)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
			restarted := newAdapter(t, f, c, nil)
			res = restarted.Send(context.Background(), again)
			requireAll(t, res, channels.StatusDelivered)
			for _, r := range res {
				require.Equal(t, "line:retry_key_accepted", r.Reason)
				require.Regexp(t, `^req-\d+$`, r.ProviderMessageID, "the accepted request's id")
			}
			_, delivered, _ = f.Snapshot()
			for u, n := range delivered {
				require.Equal(t, 1, n, "%s got a second message", u)
			}
		})
	}
}

func TestRetriesKeepTheRetryKey(t *testing.T) {
	t.Parallel()
	f := newFakeLINE(t)
	// The first attempt is accepted but its answer lost; the adapter's own
	// retry (same key) gets 409 and reports delivered.
	f.Set(func(f *fakeLINE) { f.DropAfterAccept = true })
	c := &clock{now: t0}
	a := newAdapter(t, f, c, nil)
	res := a.Send(context.Background(), batch(1, "line_winback", true))
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, "line:retry_key_accepted", res[0].Reason)
	calls, delivered, _ := f.Snapshot()
	require.Equal(t, 2, calls[pathPush])
	require.Equal(t, 1, delivered[userID(0)])
	require.Equal(t, []time.Duration{500 * time.Millisecond}, c.Sleeps())
}

func TestProviderAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(f *fakeLINE)
		mod       func(cfg *Config)
		note      string
		want      channels.Status
		reason    string
		errIs     error
		http      int
		message   string
		sleeps    []time.Duration
		wantCalls int
	}{
		{name: "400 malformed message", note: "MALFORMED", want: channels.StatusPermanent, reason: "line:bad_request", http: 400,
			message: "The request body has 1 error(s): messages[0].emojis Invalid emoji", wantCalls: 1},
		{name: "401 wrong token", mod: func(c *Config) { c.ChannelAccessToken = "revoked" }, want: channels.StatusPermanent,
			reason: "line:unauthorized", errIs: ErrUnauthorized, http: 401, message: "channel access token is invalid", wantCalls: 1},
		{name: "403 forbidden", setup: func(f *fakeLINE) { f.Forbidden = true }, want: channels.StatusPermanent,
			reason: "line:forbidden", errIs: ErrUnauthorized, http: 403, message: "not available for your account", wantCalls: 1},
		{name: "429 rate limit then accepted, Retry-After honoured", setup: func(f *fakeLINE) { f.RateLimited, f.RetryAfter = 2, "3" },
			want: channels.StatusDelivered, sleeps: []time.Duration{3 * time.Second, 3 * time.Second}, wantCalls: 3},
		{name: "429 rate limit on every attempt", setup: func(f *fakeLINE) { f.RateLimited = 9 }, want: channels.StatusTransient,
			reason: "line:rate_limited", errIs: ErrRateLimited, http: 429, sleeps: []time.Duration{500 * time.Millisecond, time.Second}, wantCalls: 3},
		{name: "Retry-After beyond MaxBackoff ends the attempts", setup: func(f *fakeLINE) { f.RateLimited, f.RetryAfter = 9, "120" },
			want: channels.StatusTransient, reason: "line:rate_limited", errIs: ErrRateLimited, http: 429, wantCalls: 1},
		{name: "500 is retried, then transient", setup: func(f *fakeLINE) { f.ServerErrors = 9 }, want: channels.StatusTransient,
			reason: "line:500", http: 500, sleeps: []time.Duration{500 * time.Millisecond, time.Second}, wantCalls: 3},
		{name: "500 once", setup: func(f *fakeLINE) { f.ServerErrors = 1 }, want: channels.StatusDelivered,
			sleeps: []time.Duration{500 * time.Millisecond}, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLINE(t)
			if tc.setup != nil {
				f.Set(tc.setup)
			}
			c := &clock{now: t0}
			a := newAdapter(t, f, c, tc.mod)
			note := tc.note
			if note == "" {
				note = "Your order has shipped"
			}
			msg := batch(1, "note", false)
			msg[0].Payload = map[string]any{"note": note}
			r := a.Send(context.Background(), msg)[0]
			require.Equal(t, tc.want, r.Status, "%s %v", r.Reason, r.Err)
			require.Equal(t, tc.reason, r.Reason)
			require.Equal(t, tc.sleeps, nilIfNone(c.Sleeps()))
			calls, _, _ := f.Snapshot()
			require.Equal(t, tc.wantCalls, calls[pathPush])
			if tc.want == channels.StatusDelivered {
				return
			}
			var pe *channels.ProviderError
			require.ErrorAs(t, r.Err, &pe)
			require.Equal(t, "line", pe.Provider)
			require.Equal(t, tc.http, pe.HTTPStatus)
			require.Contains(t, pe.Message, tc.message)
			require.Equal(t, tc.want == channels.StatusPermanent, pe.Permanent)
			if tc.errIs != nil {
				require.ErrorIs(t, r.Err, tc.errIs)
			}
			require.NotContains(t, r.Err.Error(), fakeToken)
			require.NotContains(t, r.Err.Error(), "revoked")
		})
	}
}

func nilIfNone(s []time.Duration) []time.Duration {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestAddressesRenderingGateAndContext(t *testing.T) {
	t.Parallel()
	f := newFakeLINE(t)
	gate := gateFunc(func(m channels.Message) string {
		if m.ProfileID == 2 {
			return "consent_withdrawn"
		}
		return ""
	})
	a := newAdapter(t, f, &clock{now: t0}, func(c *Config) { c.Gate = gate })
	msgs := batch(5, "line_welcome", false)
	msgs[3].To = "+66812345678" // a phone number is no LINE user id
	msgs[4].To = ""
	msgs = append(msgs, channels.Message{IdempotencyKey: "k", To: userID(9), Template: "flash_sale"}) // an SMS template
	res := a.Send(context.Background(), msgs)
	require.Equal(t, channels.StatusDelivered, res[0].Status)
	require.Equal(t, channels.StatusSkipped, res[1].Status)
	require.Equal(t, "gate:consent_withdrawn", res[1].Reason)
	require.Equal(t, channels.StatusDelivered, res[2].Status)
	require.ErrorIs(t, res[3].Err, channels.ErrInvalidAddress)
	require.ErrorIs(t, res[4].Err, channels.ErrNoAddress)
	require.ErrorIs(t, res[5].Err, channels.ErrRender)
	require.Equal(t, channels.StatusPermanent, res[5].Status)
	calls, delivered, sizes := f.Snapshot()
	require.Equal(t, 1, calls[pathMulticast])
	require.Equal(t, []int{2}, sizes, "the refused person is left out of the call")
	require.NotContains(t, delivered, userID(1))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range a.Send(ctx, batch(3, "line_winback", true)) {
		require.Equal(t, channels.StatusTransient, r.Status)
		require.ErrorIs(t, r.Err, context.Canceled)
	}
}

type gateFunc func(channels.Message) string

func (g gateFunc) Check(_ context.Context, _ string, m channels.Message) (string, error) {
	return g(m), nil
}

func TestNewRequiresTokenProviderAndTemplates(t *testing.T) {
	t.Parallel()
	ts := testTemplates(t)
	for _, cfg := range []Config{
		{ProviderID: "p", Templates: ts},
		{ChannelAccessToken: "t", Templates: ts},
		{ChannelAccessToken: "t", ProviderID: "p"},
	} {
		_, err := New(cfg)
		require.Error(t, err)
	}
	a, err := New(Config{ChannelAccessToken: "t", ProviderID: "p", Templates: ts})
	require.NoError(t, err)
	require.Equal(t, "line", a.Name())
	require.Equal(t, "p", a.ProviderID())
}

func TestRetryKeys(t *testing.T) {
	t.Parallel()
	k := PushRetryKey("ik1_abc")
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, k)
	require.Equal(t, k, PushRetryKey("ik1_abc"), "deterministic")
	require.NotEqual(t, k, PushRetryKey("ik1_abd"))
	require.Empty(t, PushRetryKey(""))
	m := MulticastRetryKey([]string{"a", "b", "c"})
	require.Equal(t, m, MulticastRetryKey([]string{"c", "a", "b"}), "a set: order does not matter")
	require.NotEqual(t, m, MulticastRetryKey([]string{"a", "b"}))
	require.NotEqual(t, MulticastRetryKey([]string{"ab", "c"}), MulticastRetryKey([]string{"a", "bc"}), "length-prefixed")
	require.NotEqual(t, PushRetryKey("a"), MulticastRetryKey([]string{"a"}))
}

func TestClassifyIgnoresUnrelated409(t *testing.T) {
	t.Parallel()
	o := classify(pathPush, 409, map[string][]string{}, []byte(`{"message":"Conflict"}`), nil, t0)
	require.False(t, o.delivered, "a 409 without an accepted request id is not a delivery")
	require.True(t, o.permanent)
	o = classify(pathPush, 0, nil, nil, errors.New("connection reset"), t0)
	require.True(t, o.retryable)
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		msgs   []channels.Message
		silent bool
		want   string
	}{
		{"push", batch(1, "line_winback", true), false,
			`{"to":"U00000000000000000000000000000000","messages":[{"type":"text","text":"คุณคน0 เราคิดถึงคุณ! ใช้โค้ด BACK30 รับส่วนลด 30% ที่สาขาใกล้คุณ"}]}`},
		// Recipients are ordered by idempotency key (stable chunks).
		{"multicast without notification", batch(2, "line_winback", false), true,
			`{"to":["U00000000000000000000000000000001","U00000000000000000000000000000000"],"messages":[{"type":"text","text":"คุณลูกค้า เราคิดถึงคุณ! ใช้โค้ด BACK30 รับส่วนลด 30% ที่สาขาใกล้คุณ"}],"notificationDisabled":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLINE(t)
			a := newAdapter(t, f, &clock{now: t0}, func(c *Config) { c.NotificationDisabled = tc.silent })
			requireAll(t, a.Send(context.Background(), tc.msgs), channels.StatusDelivered)
			got, err := json.Marshal(f.LastBody())
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
		})
	}
}
