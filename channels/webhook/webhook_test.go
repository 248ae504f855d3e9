package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

var (
	secret    = bytes.Repeat([]byte("s"), 32)
	newSecret = bytes.Repeat([]byte("n"), 32)
	t0        = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// receiver is a loopback endpoint that verifies every request like a real
// consumer would, then answers from a script.
type receiver struct {
	mu       sync.Mutex
	calls    map[string]int
	keys     map[string][]string
	bodies   map[string][]Payload
	verifyOK map[string][]bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := VerifyRequest(r, [][]byte{secret}, t0, time.Minute, 0)
	rc.mu.Lock()
	path := r.URL.Path
	rc.calls[path]++
	n := rc.calls[path]
	rc.keys[path] = append(rc.keys[path], r.Header.Get(IdempotencyKeyHeader))
	rc.verifyOK[path] = append(rc.verifyOK[path], err == nil)
	var p Payload
	_ = json.Unmarshal(body, &p)
	rc.bodies[path] = append(rc.bodies[path], p)
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	switch path {
	case "/ok":
		w.Header().Set("X-Request-Id", "req-1")
		w.WriteHeader(http.StatusAccepted)
	case "/flaky":
		if n <= 2 {
			http.Error(w, "upstream", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	case "/down":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "/gone":
		http.Error(w, "gone", http.StatusGone)
	case "/ratelimited":
		if n == 1 {
			w.Header().Set("Retry-After", "3")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/slow":
		if n == 1 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	rc := &receiver{calls: map[string]int{}, keys: map[string][]string{}, bodies: map[string][]Payload{}, verifyOK: map[string][]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	var mu sync.Mutex
	sleeps := map[string][]time.Duration{}
	w, err := New(Config{
		Secrets: [][]byte{secret}, HTTPClient: srv.Client(), Now: func() time.Time { return t0 },
		Jitter:  func(d time.Duration) time.Duration { return d },
		Timeout: 200 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			sleeps["all"] = append(sleeps["all"], d)
			return nil
		},
		Concurrency: 1,
	})
	require.NoError(t, err)

	msg := func(path string) channels.Message {
		return channels.Message{
			IdempotencyKey: channels.NewIdempotencyKey("j", 2, path, 77, t0), ProfileID: 77, Journey: "j", JourneyVersion: 2,
			Step: "notify", Purpose: "marketing", To: srv.URL + path,
			Traits: map[string]any{"plan": "gold", "name": "สมหญิง"}, Payload: map[string]any{"order": "A-1"},
		}
	}
	tests := []struct {
		path     string
		status   channels.Status
		reason   string
		attempts int
		sleeps   []time.Duration
	}{
		{"/ok", channels.StatusDelivered, "", 1, nil},
		{"/flaky", channels.StatusDelivered, "", 3, []time.Duration{500 * time.Millisecond, time.Second}},
		{"/down", channels.StatusTransient, "webhook:500", 4, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"/gone", channels.StatusPermanent, "webhook:410", 1, nil},
		{"/ratelimited", channels.StatusDelivered, "", 2, []time.Duration{3 * time.Second}},
		{"/slow", channels.StatusDelivered, "", 2, []time.Duration{500 * time.Millisecond}},
	}
	for _, tc := range tests {
		// Sequential: each case checks the sleeps it caused.
		mu.Lock()
		sleeps = map[string][]time.Duration{}
		mu.Unlock()
		m := msg(tc.path)
		res := w.Send(context.Background(), []channels.Message{m})
		require.Len(t, res, 1)
		r := res[0]
		require.Equal(t, tc.status, r.Status, "%s: %v", tc.path, r.Err)
		require.Equal(t, tc.reason, r.Reason, tc.path)
		require.Equal(t, tc.attempts, rc.calls[tc.path], tc.path)
		require.Equal(t, tc.sleeps, sleeps["all"], tc.path)
		for i, k := range rc.keys[tc.path] {
			require.Equal(t, m.IdempotencyKey, k, "same key on every attempt")
			require.True(t, rc.verifyOK[tc.path][i], "signature verified")
		}
		p := rc.bodies[tc.path][0]
		require.Equal(t, Payload{ID: m.IdempotencyKey, Type: "journey.step", Timestamp: t0, Journey: "j", JourneyVersion: 2,
			Step: "notify", ProfileID: 77, Purpose: "marketing", Traits: map[string]any{"plan": "gold", "name": "สมหญิง"},
			Payload: map[string]any{"order": "A-1"}}, p)
	}
	require.Equal(t, "req-1", w.Send(context.Background(), []channels.Message{msg("/ok")})[0].ProviderMessageID)

	// URLs: https required except loopback.
	r := w.Send(context.Background(), []channels.Message{{To: "http://example.com/hook"}})[0]
	require.Equal(t, channels.StatusPermanent, r.Status)
	require.ErrorIs(t, r.Err, channels.ErrInvalidAddress)
	require.NoError(t, w.CheckURL("https://example.com/hook"))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"ik1_x"}`)
	ts := t0.Unix()
	good := Sign([][]byte{secret}, ts, body)
	rotated := Sign([][]byte{newSecret, secret}, ts, body)
	tests := []struct {
		name    string
		secrets [][]byte
		sig     string
		ts      string
		body    []byte
		now     time.Time
		want    error
	}{
		{"valid", [][]byte{secret}, good, strconv.FormatInt(ts, 10), body, t0, nil},
		{"valid within tolerance", [][]byte{secret}, good, strconv.FormatInt(ts, 10), body, t0.Add(4 * time.Minute), nil},
		{"rotation: old receiver", [][]byte{secret}, rotated, strconv.FormatInt(ts, 10), body, t0, nil},
		{"rotation: new receiver", [][]byte{newSecret}, rotated, strconv.FormatInt(ts, 10), body, t0, nil},
		{"tampered body", [][]byte{secret}, good, strconv.FormatInt(ts, 10), []byte(`{"id":"ik1_y"}`), t0, ErrInvalidSignature},
		{"wrong secret", [][]byte{newSecret}, good, strconv.FormatInt(ts, 10), body, t0, ErrInvalidSignature},
		{"timestamp swapped", [][]byte{secret}, good, strconv.FormatInt(ts+1, 10), body, t0, ErrInvalidSignature},
		{"replayed later", [][]byte{secret}, good, strconv.FormatInt(ts, 10), body, t0.Add(6 * time.Minute), ErrTimestamp},
		{"from the future", [][]byte{secret}, good, strconv.FormatInt(ts, 10), body, t0.Add(-6 * time.Minute), ErrTimestamp},
		{"missing signature", [][]byte{secret}, "", strconv.FormatInt(ts, 10), body, t0, ErrMissingSignature},
		{"missing timestamp", [][]byte{secret}, good, "", body, t0, ErrMissingSignature},
		{"garbage signature", [][]byte{secret}, "v1=zz,v2=abc", strconv.FormatInt(ts, 10), body, t0, ErrInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tc.secrets, tc.sig, tc.ts, tc.body, tc.now, 0)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	_, err := New(Config{Secrets: [][]byte{[]byte("short")}})
	require.Error(t, err)
}
