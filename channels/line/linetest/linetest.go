// Package linetest is a loopback LINE Messaging API for tests: it speaks
// the real wire format (paths, JSON bodies, bearer authentication,
// X-Line-Retry-Key de-duplication with 409, 429 for the rate limit and the
// monthly quota, 400 for malformed messages) so that the channel, the
// journeys and the server can be tested against it. It does not import
// package line (whose own tests use it).
package linetest

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

// Token is the channel access token the fake accepts.
const Token = "test-channel-access-token"

// The Messaging API's paths and headers, as LINE spells them.
const (
	PathPush             = "/v2/bot/message/push"
	PathMulticast        = "/v2/bot/message/multicast"
	PathQuota            = "/v2/bot/message/quota"
	PathQuotaConsumption = "/v2/bot/message/quota/consumption"
	headerRetryKey       = "X-Line-Retry-Key"
	headerAccepted       = "X-Line-Accepted-Request-Id"
	headerRequestID      = "X-Line-Request-Id"
	// MonthlyLimitMessage is LINE's message of a 429 for an exhausted
	// monthly quota.
	MonthlyLimitMessage = "You have reached your monthly limit."
	maxMulticast        = 500
)

var userIDRE = regexp.MustCompile(`^U[0-9a-f]{32}$`)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Server speaks the Messaging API's wire format on loopback: bearer
// authentication, push and multicast with LINE's validation errors,
// de-duplication on X-Line-Retry-Key (409 with X-Line-Accepted-Request-Id,
// as LINE does for 24 hours), 429 for the rate limit and for the monthly
// quota, and the quota endpoints.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	seq       int
	accepted  map[string]string // retry key → request id
	delivered map[string]int    // user id → messages received
	calls     map[string]int    // path → requests
	sizes     []int             // recipients per accepted multicast
	last      map[string]any    // body of the last accepted send
	keys      []string          // retry keys of accepted sends
	Limit     int64             // monthly quota (0 = none)
	Usage     int64
	// RateLimited answers the next n sends with 429 "Too many requests".
	RateLimited int
	RetryAfter  string
	// ServerErrors answers the next n sends with 500.
	ServerErrors int
	// DropAfterAccept accepts sends but closes the connection before
	// answering (the caller never sees the answer).
	DropAfterAccept bool
	// Forbidden answers 403 to sends.
	Forbidden bool
}

// New starts a fake on loopback, closed when the test ends.
func New(t testing.TB) *Server {
	f := &Server{accepted: map[string]string{}, delivered: map[string]int{}, calls: map[string]int{}}
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

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.URL.Path]++
	if r.Header.Get("Authorization") != "Bearer "+Token {
		writeJSON(w, 401, lineErr{Message: "Authentication failed. Confirm that the access token in the authorization header is valid."})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == PathQuota:
		if f.Limit == 0 {
			writeJSON(w, 200, map[string]any{"type": "none"})
		} else {
			writeJSON(w, 200, map[string]any{"type": "limited", "value": f.Limit})
		}
		return
	case r.Method == http.MethodGet && r.URL.Path == PathQuotaConsumption:
		writeJSON(w, 200, map[string]any{"totalUsage": f.Usage})
		return
	case r.Method != http.MethodPost || (r.URL.Path != PathPush && r.URL.Path != PathMulticast):
		writeJSON(w, 404, lineErr{Message: "Not found"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, 415, lineErr{Message: "Unsupported Media Type"})
		return
	}
	key := r.Header.Get(headerRetryKey)
	if key != "" && !uuidRE.MatchString(key) {
		writeJSON(w, 400, lineErr{Message: "The value for the 'X-Line-Retry-Key' header is invalid"})
		return
	}
	if id, ok := f.accepted[key]; ok && key != "" {
		w.Header().Set(headerAccepted, id)
		writeJSON(w, 409, lineErr{Message: "The retry key is already accepted"})
		return
	}
	if f.Forbidden {
		writeJSON(w, 403, lineErr{Message: "Access to this API is not available for your account"})
		return
	}
	if f.ServerErrors > 0 {
		f.ServerErrors--
		writeJSON(w, 500, lineErr{Message: "An error occurred on the server"})
		return
	}
	if f.RateLimited > 0 {
		f.RateLimited--
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeJSON(w, 429, lineErr{Message: "Too many requests"})
		return
	}
	to, body, problem := decodeSend(r)
	if problem != nil {
		writeJSON(w, 400, *problem)
		return
	}
	if f.Limit > 0 && f.Usage+int64(len(to)) > f.Limit {
		writeJSON(w, 429, lineErr{Message: MonthlyLimitMessage})
		return
	}
	f.seq++
	id := fmt.Sprintf("req-%06d", f.seq)
	if key != "" {
		f.accepted[key] = id
		f.keys = append(f.keys, key)
	}
	f.Usage += int64(len(to))
	for _, u := range to {
		f.delivered[u]++
	}
	f.last = body
	if f.DropAfterAccept {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	w.Header().Set(headerRequestID, id)
	if r.URL.Path == PathMulticast {
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
	if r.URL.Path == PathPush {
		var one string
		if json.Unmarshal(body.To, &one) != nil {
			return nil, nil, &lineErr{Message: "The property, 'to', in the request body is invalid (line: -, column: -)"}
		}
		to = []string{one}
	} else if json.Unmarshal(body.To, &to) != nil || len(to) == 0 || len(to) > maxMulticast {
		return nil, nil, &lineErr{Message: "The request body has 1 error(s)", Details: []lineErrProps{{Message: "Size must be between 1 and 500", Property: "to"}}}
	}
	for _, u := range to {
		if !userIDRE.MatchString(u) {
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

// Snapshot returns copies of the counters: requests per path, messages
// per user id, and recipients per accepted multicast.
func (f *Server) Snapshot() (calls map[string]int, delivered map[string]int, sizes []int) {
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

// Set changes the fake's behaviour under its lock.
func (f *Server) Set(fn func(f *Server)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// LastBody is the body of the last accepted send.
func (f *Server) LastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// URL is the fake's base URL (line.Config.BaseURL).
func (f *Server) URL() string { return f.srv.URL }

// Accepted returns how many sends the fake accepted (retry keys seen).
func (f *Server) Accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}
