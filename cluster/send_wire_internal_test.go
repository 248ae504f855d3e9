package cluster

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// A message crosses the wire with its traits' Go types intact: a template
// on a sender renders what it would in the single process.
func TestWireMessageKeepsTraitTypes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 9, 15, 0, 123456789, time.UTC)
	m := channels.Message{IdempotencyKey: "ik1_x", ProfileID: 42, Journey: "j", JourneyVersion: 3, Step: "s", Purpose: "marketing",
		To: "a@example.com", ToName: "A", Timezone: "Asia/Bangkok", Template: "t", Test: true,
		Traits: map[string]any{"name": "Ann", "ltv": int64(9007199254740993), "age": 41, "score": 0.1, "vip": true, "seen": at,
			"tags": []any{"a", int64(2), 1.5, false, nil}, "gone": nil},
		Payload: map[string]any{"order": "o-1", "total": 12.5}}
	body, err := json.Marshal(wireSend{Channel: "email", Message: toWire(m)})
	require.NoError(t, err)
	got, err := decodeSend(body)
	require.NoError(t, err)
	require.Equal(t, "email", got.Channel)
	require.Equal(t, m, got.Message.message())
}

func TestWireResultRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []channels.Result{
		channels.Delivered("pid"),
		channels.Skipped("gate:withdrawn"),
		{Status: channels.StatusPermanent, Reason: "smtp:550", Err: errors.New("550 no such user"), Suppress: true},
		{Status: channels.StatusTransient, Reason: "twilio:429", Err: errors.New("slow down"), RetryAfter: 3 * time.Second},
		{Status: channels.StatusPermanent, OptedOut: true, TokenInvalid: true, Units: 2},
	} {
		body, err := json.Marshal(resultToWire(r))
		require.NoError(t, err)
		var w wireResult
		require.NoError(t, json.Unmarshal(body, &w))
		got := w.result()
		require.Equal(t, r.Status, got.Status)
		require.Equal(t, r.Reason, got.Reason)
		require.Equal(t, r.ProviderMessageID, got.ProviderMessageID)
		require.Equal(t, r.RetryAfter, got.RetryAfter)
		require.Equal(t, [3]bool{r.Suppress, r.OptedOut, r.TokenInvalid}, [3]bool{got.Suppress, got.OptedOut, got.TokenInvalid})
		if r.Err == nil {
			require.NoError(t, got.Err)
			continue
		}
		require.Equal(t, r.Err.Error(), got.Err.Error(), "the journeys record the error's text")
		var se *channels.SkipError
		require.Equal(t, errors.As(r.Err, &se), errors.As(got.Err, &se))
	}
}

// The partition of a person never changes: nodes and restarts agree.
func TestPartitionIsStable(t *testing.T) {
	t.Parallel()
	got := []int{Partition(1, 8), Partition(2, 8), Partition(12345, 8), Partition(1, 1), Partition(-7, 1024)}
	require.Equal(t, []int{Partition(1, 8), Partition(2, 8), Partition(12345, 8), 0, Partition(-7, 1024)}, got)
	counts := make([]int, 8)
	for id := range int64(8000) {
		p := Partition(id, 8)
		require.True(t, p >= 0 && p < 8)
		counts[p]++
	}
	for _, n := range counts {
		require.InDelta(t, 1000, n, 200, "people spread over partitions: %v", counts)
	}
}

func FuzzDecodeSend(f *testing.F) {
	f.Add([]byte(`{"channel":"email","message":{"key":"k","profile_id":1,"to":"a@b.c","traits":{"x":["i","12"],"l":["l",[["s","a"],["z"]]]}}}`))
	f.Add([]byte(`{"channel":"email","message":{"key":"k","traits":{"x":["t","nope"]}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSend(data)
		if err != nil {
			var we *WireError
			require.ErrorAs(t, err, &we)
			return
		}
		// What decodes encodes again and decodes to the same message.
		body, err := json.Marshal(wireSend{Channel: s.Channel, Message: toWire(s.Message.message())})
		require.NoError(t, err)
		again, err := decodeSend(body)
		require.NoError(t, err)
		body2, err := json.Marshal(wireSend{Channel: again.Channel, Message: toWire(again.Message.message())})
		require.NoError(t, err)
		require.Equal(t, string(body), string(body2))
	})
}

// A trait value that does not parse is refused without quoting it: the
// error reaches the sender's log, and a trait is personal data.
func TestWireErrorsDoNotQuoteTraitValues(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"channel":"email","message":{"key":"k","traits":{"x":["i","secret-value-1"]}}}`,
		`{"channel":"email","message":{"key":"k","traits":{"x":["t","secret-value-1"]}}}`,
	} {
		_, err := decodeSend([]byte(body))
		var we *WireError
		require.ErrorAs(t, err, &we)
		require.NotContains(t, err.Error(), "secret-value-1")
	}
}
