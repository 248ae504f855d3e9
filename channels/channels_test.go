package channels

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewIdempotencyKey(t *testing.T) {
	t.Parallel()
	slot := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	k := NewIdempotencyKey("welcome", 1, "email", 42, slot)
	require.Len(t, k, 47)
	require.Equal(t, k, NewIdempotencyKey("welcome", 1, "email", 42, slot.In(bkk)))
	others := []string{
		NewIdempotencyKey("welcome", 2, "email", 42, slot),
		NewIdempotencyKey("welcome", 1, "sms", 42, slot),
		NewIdempotencyKey("welcome", 1, "email", 43, slot),
		NewIdempotencyKey("welcome", 1, "email", 42, slot.Add(time.Nanosecond)),
		NewIdempotencyKey("welcom", 1, "eemail", 42, slot), // field boundaries matter
	}
	for _, o := range others {
		require.NotEqual(t, k, o)
	}
	require.NotContains(t, k, "welcome")
}

type fakeSink struct {
	mu        sync.Mutex
	events    []Event
	supp      []Suppression
	dropped   []string
	withdrawn []ConsentChange
	failEvent bool
}

func (f *fakeSink) RecordEvent(_ context.Context, e Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failEvent {
		return errors.New("db down")
	}
	f.events = append(f.events, e)
	return nil
}
func (f *fakeSink) Suppress(_ context.Context, s Suppression) error {
	f.supp = append(f.supp, s)
	return nil
}
func (f *fakeSink) DropDeviceToken(_ context.Context, tok string, _ time.Time, _ string) error {
	f.dropped = append(f.dropped, tok)
	return nil
}
func (f *fakeSink) Withdraw(_ context.Context, c ConsentChange) (bool, error) {
	f.withdrawn = append(f.withdrawn, c)
	return true, nil
}
func (f *fakeSink) Grant(context.Context, ConsentChange) (bool, error) { return false, nil }

func TestApply(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	fbs := []Feedback{
		{Kind: FeedbackDelivered, Channel: Email, Address: "a@example.net", ProviderMessageID: "m1", Provider: "ses", At: at, ID: "e1"},
		{Kind: FeedbackOpened, Channel: Email, Address: "a@example.net", Provider: "ses", At: at, ID: "e2"},
		{Kind: FeedbackClicked, Channel: Email, Address: "a@example.net", Provider: "ses", At: at, URL: "https://x.example"},
		{Kind: FeedbackBounceHard, Channel: Email, Address: "b@example.net", Provider: "ses", At: at, Detail: "Permanent/General"},
		{Kind: FeedbackBounceSoft, Channel: Email, Address: "c@example.net", Provider: "ses", At: at},
		{Kind: FeedbackComplaint, Channel: Email, Address: "d@example.net", Provider: "ses", At: at},
		{Kind: FeedbackDelivered, Channel: SMS, Address: "+66812345678", Provider: "twilio", At: at, IdempotencyKey: "ik1_x"},
		{Kind: FeedbackUnsubscribed, Channel: SMS, Address: "+66812345679", Provider: "twilio", At: at},
		{Kind: FeedbackTokenInvalid, Channel: Push, Address: "tok", Provider: "fcm", At: at},
	}
	s := &fakeSink{}
	require.NoError(t, Apply(context.Background(), s, fbs))
	var names []string
	for _, e := range s.events {
		names = append(names, e.Name)
	}
	require.Equal(t, []string{"email_delivered", "email_opened", "email_clicked", "email_bounced", "email_bounced",
		"email_complained", "sms_delivered", "sms_unsubscribed", "push_token_invalid"}, names)
	require.Equal(t, "hard", s.events[3].Properties["bounce"])
	require.Equal(t, "soft", s.events[4].Properties["bounce"])
	require.Equal(t, "https://x.example", s.events[2].Properties["url"])
	require.Equal(t, "ik1_x", s.events[6].Properties["idempotency_key"])
	for _, e := range s.events {
		for _, v := range e.Properties {
			require.NotContains(t, v, "@example.net", "no address in properties")
		}
	}
	require.Equal(t, []Suppression{
		{Channel: Email, Address: "b@example.net", Reason: "hard_bounce", At: at, Source: "feedback:ses"},
		{Channel: Email, Address: "d@example.net", Reason: "complaint", At: at, Source: "feedback:ses"},
	}, s.supp)
	require.Equal(t, []string{"tok"}, s.dropped)
	require.Len(t, s.withdrawn, 2)
	require.Equal(t, ConsentChange{Channel: SMS, Address: "+66812345679", At: at, Source: "feedback:twilio"}, s.withdrawn[1])

	// Idempotent event ids: the same feedback twice has the same MessageID.
	s2 := &fakeSink{}
	require.NoError(t, Apply(context.Background(), s2, fbs[2:3]))
	require.NoError(t, Apply(context.Background(), s2, fbs[2:3]))
	require.Equal(t, s2.events[0].MessageID, s2.events[1].MessageID)
	require.NotEqual(t, s.events[0].MessageID, s.events[1].MessageID)

	// Errors are collected, processing continues.
	s3 := &fakeSink{failEvent: true}
	err := Apply(context.Background(), s3, fbs[3:4])
	require.ErrorContains(t, err, "db down")
	require.Len(t, s3.supp, 1)
	require.Error(t, Apply(context.Background(), s3, []Feedback{{Kind: FeedbackDelivered, Channel: Email}}))
}

func TestApplyResults(t *testing.T) {
	t.Parallel()
	at := time.Now()
	batch := []Message{
		{To: "a@example.net", ProfileID: 1, IdempotencyKey: "k1"},
		{To: "+15005550004", ProfileID: 2},
		{To: `{"endpoint":"https://push.example/abc","keys":{"p256dh":"x","auth":"y"}}`, ProfileID: 3},
		{To: "ok@example.net"},
	}
	results := []Result{
		{Status: StatusPermanent, Suppress: true, Reason: "smtp:550"},
		{Status: StatusPermanent, OptedOut: true},
		{Status: StatusPermanent, TokenInvalid: true},
		Delivered("id"),
	}
	s := &fakeSink{}
	require.NoError(t, ApplyResults(context.Background(), s, Email, batch[:1], results[:1], at))
	require.NoError(t, ApplyResults(context.Background(), s, SMS, batch[1:2], results[1:2], at))
	require.NoError(t, ApplyResults(context.Background(), s, Push, batch[2:], results[2:], at))
	require.Len(t, s.supp, 1)
	require.Equal(t, "a@example.net", s.supp[0].Address)
	require.Equal(t, []string{"https://push.example/abc"}, s.dropped)
	require.Len(t, s.withdrawn, 1)
	require.Equal(t, "+15005550004", s.withdrawn[0].Address)
	require.EqualValues(t, 1, s.events[0].ProfileID)
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	var slept []time.Duration
	l := NewLimiter(LimiterConfig{PerSecond: 2, Burst: 2,
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }})
	for i := 0; i < 5; i++ {
		require.NoError(t, l.Wait(context.Background()))
	}
	require.Equal(t, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}, slept)
	require.Nil(t, NewLimiter(LimiterConfig{}))
	var nilL *Limiter
	require.NoError(t, nilL.Wait(context.Background()))
}

func TestQuietHours(t *testing.T) {
	t.Parallel()
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	ny, _ := time.LoadLocation("America/New_York")
	q := DefaultSMSQuietHours
	tests := []struct {
		name  string
		t     time.Time
		loc   *time.Location
		quiet bool
		next  time.Time
	}{
		{"bangkok noon", time.Date(2025, 3, 1, 12, 0, 0, 0, bkk), bkk, false, time.Date(2025, 3, 1, 12, 0, 0, 0, bkk)},
		{"bangkok 21:00", time.Date(2025, 3, 1, 21, 0, 0, 0, bkk), bkk, true, time.Date(2025, 3, 2, 8, 0, 0, 0, bkk)},
		{"bangkok 07:59", time.Date(2025, 3, 1, 7, 59, 0, 0, bkk), bkk, true, time.Date(2025, 3, 1, 8, 0, 0, 0, bkk)},
		{"bangkok 08:00", time.Date(2025, 3, 1, 8, 0, 0, 0, bkk), bkk, false, time.Date(2025, 3, 1, 8, 0, 0, 0, bkk)},
		// The night DST starts in New York: 08:00 local is still the end.
		{"new york dst night", time.Date(2025, 3, 9, 1, 30, 0, 0, ny), ny, true, time.Date(2025, 3, 9, 8, 0, 0, 0, ny)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.quiet, q.Quiet(tc.t, tc.loc))
			require.True(t, tc.next.Equal(q.NextAllowed(tc.t, tc.loc)), "%s", q.NextAllowed(tc.t, tc.loc))
		})
	}
	// Unknown zone, candidates Bangkok and Tokyo (+2h): earliest instant that
	// is 08:00 or later in both is 08:00 in Bangkok (10:00 Tokyo).
	tok, _ := time.LoadLocation("Asia/Tokyo")
	n, ok := q.NextAllowedAll(time.Date(2025, 3, 1, 6, 0, 0, 0, bkk), []*time.Location{tok, bkk})
	require.True(t, ok)
	require.True(t, time.Date(2025, 3, 1, 8, 0, 0, 0, bkk).Equal(n), n.String())
	// Bangkok and New York (12h apart): 08:00 in Bangkok is 20:00 in New York.
	n, ok = q.NextAllowedAll(time.Date(2025, 3, 1, 6, 0, 0, 0, bkk), []*time.Location{bkk, ny})
	require.True(t, ok)
	require.True(t, time.Date(2025, 3, 1, 8, 0, 0, 0, bkk).Equal(n), n.String())
	// At 21:30 in Bangkok (09:30 New York) the next shared minute is 08:00 Bangkok.
	n, ok = q.NextAllowedAll(time.Date(2025, 3, 1, 21, 30, 0, 0, bkk), []*time.Location{bkk, ny})
	require.True(t, ok)
	require.True(t, time.Date(2025, 3, 2, 8, 0, 0, 0, bkk).Equal(n), n.String())
	// A stricter window (08-12) is never open in both.
	_, ok = QuietHours{Start: "12:00", End: "08:00"}.NextAllowedAll(time.Date(2025, 3, 1, 6, 0, 0, 0, bkk), []*time.Location{bkk, ny})
	require.False(t, ok)
	require.False(t, QuietHours{}.Quiet(time.Now(), nil))
	require.Error(t, QuietHours{Start: "25:00", End: "08:00"}.Validate())

	zones := PlausibleZones("+66812345678")
	require.Len(t, zones, 1)
	require.Equal(t, "Asia/Bangkok", zones[0].String())
	require.Nil(t, PlausibleZones("nonsense"))
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	e, err := NormalizeEmail("  Somchai@Example.COM ")
	require.NoError(t, err)
	require.Equal(t, "somchai@example.com", e)
	for _, bad := range []string{"x", "A <a@b.c>", "a@b.c, d@e.f"} {
		_, err := NormalizeEmail(bad)
		require.ErrorIs(t, err, ErrInvalidAddress, bad)
	}
	_, err = NormalizeEmail(" ")
	require.ErrorIs(t, err, ErrNoAddress)
	p, err := NormalizeE164("+66 (81) 234-5678")
	require.NoError(t, err)
	require.Equal(t, "+66812345678", p)
	p, err = NormalizeE164("0066812345678")
	require.NoError(t, err)
	require.Equal(t, "+66812345678", p)
	for _, bad := range []string{"0812345678", "+0812345678", "+66abc", "+1234"} {
		_, err := NormalizeE164(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "https://push.example/x", PushTokenKey(`{"endpoint":"https://push.example/x","keys":{}}`))
	require.Equal(t, "fcm-token", PushTokenKey(" fcm-token "))
}

func TestSendEachAndGate(t *testing.T) {
	t.Parallel()
	batch := make([]Message, 50)
	for i := range batch {
		batch[i].ProfileID = int64(i)
	}
	res := SendEach(context.Background(), batch, 4, func(_ context.Context, m Message) Result {
		return Delivered(string(rune('a' + m.ProfileID%26)))
	})
	for i, r := range res {
		require.Equal(t, string(rune('a'+i%26)), r.ProviderMessageID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = SendEach(ctx, batch[:3], 2, func(context.Context, Message) Result { t.Fatal("called"); return Result{} })
	for _, r := range res {
		require.Equal(t, StatusTransient, r.Status)
	}
	r, ok := CheckGate(context.Background(), GateFunc(func(context.Context, string, Message) (string, error) { return "", errors.New("x") }), Email, Message{})
	require.False(t, ok)
	require.Equal(t, StatusSkipped, r.Status)
	require.Equal(t, "gate:gate_error", r.Reason)
	_, ok = CheckGate(context.Background(), nil, Email, Message{})
	require.True(t, ok)
	require.Equal(t, "skipped", StatusSkipped.String())
	require.True(t, Message{Purpose: "marketing"}.Marketing())
	require.False(t, Message{Purpose: "transactional"}.Marketing())
	require.False(t, Message{Purpose: "marketing", Transactional: true}.Marketing())
}
