package line

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const fakeToken = "test-channel-access-token"

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// fakeLINE speaks the Messaging API's wire format on loopback: bearer
// authentication, push and multicast with LINE's validation errors,
// de-duplication on X-Line-Retry-Key (409 with X-Line-Accepted-Request-Id,
// as LINE does for 24 hours), 429 for the rate limit and for the monthly
// quota, and the quota endpoints.
type fakeLINE struct {
	srv *httptest.Server

	mu        sync.Mutex
	seq       int
	accepted  map[string]string // retry key → request id
	delivered map[string]int    // user id → messages received
	calls     map[string]int    // path → requests
	sizes     []int             // recipients per accepted multicast
	last      map[string]any    // body of the last accepted send
	keys      []string          // retry keys of accepted sends
	limit     int64             // monthly quota (0 = none)
	usage     int64
	// rateLimited answers the next n sends with 429 "Too many requests".
	rateLimited int
	retryAfter  string
	// serverErrors answers the next n sends with 500.
	serverErrors int
	// dropAfterAccept accepts sends but closes the connection before
	// answering (the caller never sees the answer).
	dropAfterAccept bool
	// forbidden answers 403 to sends.
	forbidden bool
}

func newFakeLINE(t testing.TB) *fakeLINE {
	f := &fakeLINE{accepted: map[string]string{}, delivered: map[string]int{}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type lineErr struct {
	Message string         `json:"message"`
	Details []lineErrProps `json:"details,omitempty"`
}

type lineErrProps struct {
	Message  string `json:"message"`
	Property string `json:"property"`
}

func (f *fakeLINE) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.URL.Path]++
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		writeJSON(w, 401, lineErr{Message: "Authentication failed. Confirm that the access token in the authorization header is valid."})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == pathQuota:
		if f.limit == 0 {
			writeJSON(w, 200, map[string]any{"type": "none"})
		} else {
			writeJSON(w, 200, map[string]any{"type": "limited", "value": f.limit})
		}
		return
	case r.Method == http.MethodGet && r.URL.Path == pathQuotaConsumption:
		writeJSON(w, 200, map[string]any{"totalUsage": f.usage})
		return
	case r.Method != http.MethodPost || (r.URL.Path != pathPush && r.URL.Path != pathMulticast):
		writeJSON(w, 404, lineErr{Message: "Not found"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, 415, lineErr{Message: "Unsupported Media Type"})
		return
	}
	key := r.Header.Get(HeaderRetryKey)
	if key != "" && !uuidRE.MatchString(key) {
		writeJSON(w, 400, lineErr{Message: "The value for the 'X-Line-Retry-Key' header is invalid"})
		return
	}
	if id, ok := f.accepted[key]; ok && key != "" {
		w.Header().Set(HeaderAcceptedRequestID, id)
		writeJSON(w, 409, lineErr{Message: "The retry key is already accepted"})
		return
	}
	if f.forbidden {
		writeJSON(w, 403, lineErr{Message: "Access to this API is not available for your account"})
		return
	}
	if f.serverErrors > 0 {
		f.serverErrors--
		writeJSON(w, 500, lineErr{Message: "An error occurred on the server"})
		return
	}
	if f.rateLimited > 0 {
		f.rateLimited--
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeJSON(w, 429, lineErr{Message: "Too many requests"})
		return
	}
	to, body, problem := decodeSend(r)
	if problem != nil {
		writeJSON(w, 400, *problem)
		return
	}
	if f.limit > 0 && f.usage+int64(len(to)) > f.limit {
		writeJSON(w, 429, lineErr{Message: monthlyLimitMessage})
		return
	}
	f.seq++
	id := fmt.Sprintf("req-%06d", f.seq)
	if key != "" {
		f.accepted[key] = id
		f.keys = append(f.keys, key)
	}
	f.usage += int64(len(to))
	for _, u := range to {
		f.delivered[u]++
	}
	f.last = body
	if f.dropAfterAccept {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	w.Header().Set(HeaderRequestID, id)
	if r.URL.Path == pathMulticast {
		f.sizes = append(f.sizes, len(to))
		writeJSON(w, 200, map[string]any{})
		return
	}
	writeJSON(w, 200, map[string]any{"sentMessages": []map[string]string{{"id": "msg-" + id, "quoteToken": "q"}}})
}

// decodeSend validates a push or multicast body as LINE does and returns
// the recipients and the whole body.
func decodeSend(r *http.Request) ([]string, map[string]any, *lineErr) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		To                   json.RawMessage  `json:"to"`
		Messages             []map[string]any `json:"messages"`
		NotificationDisabled bool             `json:"notificationDisabled"`
	}
	var whole map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || json.Unmarshal(raw, &whole) != nil {
		return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "must be valid JSON", Property: ""}}}
	}
	var to []string
	if r.URL.Path == pathPush {
		var one string
		if json.Unmarshal(body.To, &one) != nil {
			return nil, nil, &lineErr{Message: "The property, 'to', in the request body is invalid (line: -, column: -)"}
		}
		to = []string{one}
	} else if json.Unmarshal(body.To, &to) != nil || len(to) == 0 || len(to) > MaxMulticast {
		return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "Size must be between 1 and 500", Property: "to"}}}
	}
	for _, u := range to {
		if !ValidUserID(u) {
			return nil, nil, &lineErr{Message: "The property, 'to', in the request body is invalid (line: -, column: -)"}
		}
	}
	if len(body.Messages) == 0 || len(body.Messages) > 5 {
		return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "Size must be between 1 and 5", Property: "messages"}}}
	}
	for i, m := range body.Messages {
		switch m["type"] {
		case "text":
			text, _ := m["text"].(string)
			if text == "" {
				return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "May not be empty", Property: fmt.Sprintf("messages[%d].text", i)}}}
			}
			if strings.Contains(text, "MALFORMED") { // stands for anything LINE rejects that we do not check
				return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "Invalid emoji", Property: fmt.Sprintf("messages[%d].emojis", i)}}}
			}
		case "flex":
			if alt, _ := m["altText"].(string); alt == "" {
				return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "May not be empty", Property: fmt.Sprintf("messages[%d].altText", i)}}}
			}
		case "image":
		default:
			return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "Invalid message type", Property: fmt.Sprintf("messages[%d].type", i)}}}
		}
	}
	return to, whole, nil
}

// snapshot returns copies of the counters.
func (f *fakeLINE) snapshot() (calls map[string]int, delivered map[string]int, sizes []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls, delivered = map[string]int{}, map[string]int{}
	for k, v := range f.calls {
		calls[k] = v
	}
	for k, v := range f.delivered {
		delivered[k] = v
	}
	return calls, delivered, append([]int(nil), f.sizes...)
}

func (f *fakeLINE) set(fn func(f *fakeLINE)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeLINE) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
