package line

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testSecret = []byte("8c570fa6dd201bb328f1c1eac23a96d8")

// webhookBody is a delivery in LINE's format: one of each event Tact acts
// on and a join event it ignores.
const webhookBody = `{
  "destination": "Ub0000000000000000000000000000000",
  "events": [
    {"type": "follow", "mode": "active", "timestamp": 1742446800000, "webhookEventId": "01JPQ0000000000000000000A1",
     "deliveryContext": {"isRedelivery": false}, "replyToken": "r1",
     "source": {"type": "user", "userId": "U00000000000000000000000000000001"}, "follow": {"isUnblocked": true}},
    {"type": "unfollow", "mode": "active", "timestamp": 1742446801000, "webhookEventId": "01JPQ0000000000000000000A2",
     "deliveryContext": {"isRedelivery": true}, "source": {"type": "user", "userId": "U00000000000000000000000000000002"}},
    {"type": "message", "mode": "active", "timestamp": 1742446802000, "webhookEventId": "01JPQ0000000000000000000A3",
     "deliveryContext": {"isRedelivery": false}, "replyToken": "r3",
     "source": {"type": "user", "userId": "U00000000000000000000000000000003"},
     "message": {"id": "444573844083572737", "type": "text", "quoteToken": "q", "text": "สวัสดีครับ"}},
    {"type": "postback", "mode": "active", "timestamp": 1742446803000, "webhookEventId": "01JPQ0000000000000000000A4",
     "deliveryContext": {"isRedelivery": false}, "replyToken": "r4",
     "source": {"type": "user", "userId": "U00000000000000000000000000000004"},
     "postback": {"data": "action=optin&purpose=marketing", "params": {"datetime": "2025-03-20T14:00"}}},
    {"type": "accountLink", "mode": "active", "timestamp": 1742446804000, "webhookEventId": "01JPQ0000000000000000000A5",
     "deliveryContext": {"isRedelivery": false}, "replyToken": "r5",
     "source": {"type": "user", "userId": "U00000000000000000000000000000005"}, "link": {"result": "ok", "nonce": "n0nce"}},
    {"type": "join", "mode": "active", "timestamp": 1742446805000, "webhookEventId": "01JPQ0000000000000000000A6",
     "deliveryContext": {"isRedelivery": false}, "replyToken": "r6", "source": {"type": "group", "groupId": "Cabc"}}
  ]
}`

func TestParseWebhookEvents(t *testing.T) {
	t.Parallel()
	w, err := ParseWebhook([]byte(webhookBody))
	require.NoError(t, err)
	require.Equal(t, "Ub0000000000000000000000000000000", w.Destination)
	require.Equal(t, 1, w.Ignored)
	require.Len(t, w.Events, 5)
	ts := time.Date(2025, 3, 20, 5, 0, 0, 0, time.UTC)
	tests := []Event{
		{ID: "01JPQ0000000000000000000A1", Type: EventFollow, Mode: "active", Timestamp: ts, SourceType: "user",
			UserID: "U00000000000000000000000000000001", ReplyToken: "r1", Unblocked: true},
		{ID: "01JPQ0000000000000000000A2", Type: EventUnfollow, Mode: "active", Timestamp: ts.Add(time.Second), Redelivery: true,
			SourceType: "user", UserID: "U00000000000000000000000000000002"},
		{ID: "01JPQ0000000000000000000A3", Type: EventMessage, Mode: "active", Timestamp: ts.Add(2 * time.Second), SourceType: "user",
			UserID: "U00000000000000000000000000000003", ReplyToken: "r3", MessageID: "444573844083572737", MessageType: "text", Text: "สวัสดีครับ"},
		{ID: "01JPQ0000000000000000000A4", Type: EventPostback, Mode: "active", Timestamp: ts.Add(3 * time.Second), SourceType: "user",
			UserID: "U00000000000000000000000000000004", ReplyToken: "r4", PostbackData: "action=optin&purpose=marketing",
			PostbackParams: map[string]string{"datetime": "2025-03-20T14:00"}},
		{ID: "01JPQ0000000000000000000A5", Type: EventAccountLink, Mode: "active", Timestamp: ts.Add(4 * time.Second), SourceType: "user",
			UserID: "U00000000000000000000000000000005", ReplyToken: "r5", LinkResult: "ok", LinkNonce: "n0nce"},
	}
	for i, want := range tests {
		t.Run(string(want.Type), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, want, w.Events[i])
		})
	}
}

func TestParseWebhookRejectsMalformedWithoutQuotingIt(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"events": [`, `[]`, `{"destination": "U1"}`, `{"events": [{"type": "follow", "source": {"userId": "U1"}}]}`} {
		_, err := ParseWebhook([]byte(body))
		require.ErrorIs(t, err, ErrMalformedWebhook, body)
		require.NotContains(t, err.Error(), "U1")
	}
}

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []Webhook
	wr := WebhookReceiver{Secret: testSecret, MaxBytes: 4096}
	srv := httptest.NewServer(wr.Handler(func(_ context.Context, w Webhook) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, w)
		if len(w.Events) == 0 && w.Destination == "fail" {
			return errors.New("store down")
		}
		return nil
	}))
	defer srv.Close()
	body := []byte(webhookBody)
	changed := bytes.Clone(body)
	changed[bytes.Index(changed, []byte("optin"))+1] = 'O' // one byte
	huge := []byte(`{"destination": "` + strings.Repeat("x", 5000) + `", "events": []}`)
	failing := []byte(`{"destination": "fail", "events": []}`)
	tests := []struct {
		name   string
		method string
		body   []byte
		sig    string
		want   int
		events int
	}{
		{"valid", http.MethodPost, body, Sign(testSecret, body), 200, 5},
		{"one changed byte", http.MethodPost, changed, Sign(testSecret, body), 401, -1},
		{"no signature", http.MethodPost, body, "", 401, -1},
		{"signed with another secret", http.MethodPost, body, Sign([]byte("other"), body), 401, -1},
		{"signature not base64", http.MethodPost, body, "!!", 401, -1},
		{"too large, before the signature is checked", http.MethodPost, huge, "", 413, -1},
		{"signed but malformed", http.MethodPost, []byte(`{"events": 1}`), Sign(testSecret, []byte(`{"events": 1}`)), 400, -1},
		{"console verify: no events", http.MethodPost, []byte(`{"destination": "U", "events": []}`), Sign(testSecret, []byte(`{"destination": "U", "events": []}`)), 200, 0},
		{"handler error asks for redelivery", http.MethodPost, failing, Sign(testSecret, failing), 500, 0},
		{"GET", http.MethodGet, nil, "", 405, -1},
	}
	for _, tc := range tests {
		mu.Lock()
		got = nil
		mu.Unlock()
		req, err := http.NewRequest(tc.method, srv.URL+"/webhooks/line", bytes.NewReader(tc.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if tc.sig != "" {
			req.Header.Set("x-line-signature", tc.sig)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, tc.name)
		mu.Lock()
		if tc.events < 0 {
			require.Empty(t, got, "%s: handle must not run", tc.name)
		} else {
			require.Len(t, got, 1, tc.name)
			require.Len(t, got[0].Events, tc.events, tc.name)
		}
		mu.Unlock()
	}
}

func TestValidSignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"destination":"U","events":[]}`)
	sig := Sign(testSecret, body)
	require.True(t, ValidSignature(testSecret, body, sig))
	require.False(t, ValidSignature(nil, body, Sign(nil, body)), "no secret configured: nothing verifies")
	require.False(t, ValidSignature(testSecret, body, sig[:len(sig)-4]))
	require.Equal(t, 200, StatusCode(nil))
	require.Equal(t, 500, StatusCode(errors.New("x")))
}
