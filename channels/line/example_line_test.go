package line_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/line"
	"github.com/tactcdp/tact/channels/templates"
)

// Three people, two of whom get the same rendered message: one multicast
// carries the two, a push the third. The stand-in for LINE prints what it
// receives.
func ExampleAdapter_Send() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			To       any `json:"to"`
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		fmt.Printf("%s to=%v text=%q retry-key=%t\n", r.URL.Path, body.To, body.Messages[0].Text, r.Header.Get(line.HeaderRetryKey) != "")
		w.Header().Set(line.HeaderRequestID, "req-1")
		fmt.Fprint(w, `{"sentMessages":[{"id":"m-1","quoteToken":"q"}]}`)
	}))
	defer api.Close()

	ts, _ := templates.LoadFS(fstest.MapFS{"hello.line.json": {Data: []byte(`---
purpose: marketing
---
[{"type": "text", "text": "สวัสดีคุณ{{ .traits.first_name | default "ลูกค้า" }}"}]`)}})
	a, _ := line.New(line.Config{ChannelAccessToken: "token", ProviderID: "2001234567", BaseURL: api.URL, Templates: ts, Concurrency: 1})

	msg := func(profile int64, name any) channels.Message {
		return channels.Message{
			IdempotencyKey: fmt.Sprintf("ik-%d", profile), ProfileID: profile, Purpose: "marketing", Template: "hello",
			To: fmt.Sprintf("U%032x", profile), Traits: map[string]any{"first_name": name},
		}
	}
	for _, r := range a.Send(context.Background(), []channels.Message{msg(1, nil), msg(2, "สมชาย"), msg(3, nil)}) {
		fmt.Println(r.Status, r.ProviderMessageID)
	}
	// Output:
	// /v2/bot/message/multicast to=[U00000000000000000000000000000001 U00000000000000000000000000000003] text="สวัสดีคุณลูกค้า" retry-key=true
	// /v2/bot/message/push to=U00000000000000000000000000000002 text="สวัสดีคุณสมชาย" retry-key=true
	// delivered req-1
	// delivered m-1
	// delivered req-1
}

func ExampleMulticastRetryKey() {
	a, b := line.MulticastRetryKey([]string{"ik-1", "ik-3"}), line.MulticastRetryKey([]string{"ik-3", "ik-1"})
	p1, p2 := line.PushRetryKey("ik-1"), line.PushRetryKey("ik-1")
	fmt.Println(a == b)
	fmt.Println(p1 == p2, len(p1))
	// Output:
	// true
	// true 36
}
