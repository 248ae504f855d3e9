package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	analytics "gopkg.in/segmentio/analytics-go.v3"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/journeys"
)

// welcomePro enters people whose plan is "pro" and sends them an email.
const welcomePro = `
name: welcome-pro
purpose: marketing
entry:
  segment: plan == "pro"
steps:
  - id: hello
    send: {channel: email, template: welcome}
`

type clientCallback struct {
	mu       sync.Mutex
	ok, fail int
	errs     []error
}

func (c *clientCallback) Success(analytics.Message) { c.mu.Lock(); c.ok++; c.mu.Unlock() }
func (c *clientCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.fail++
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// TestAnalyticsClient drives the server with the official Segment Go
// client: identify, track and alias land on one unified profile, the
// events are queryable by segments as soon as the client's request is
// answered, and the person enters a segment-entry journey.
func TestAnalyticsClient(t *testing.T) {
	t.Parallel()
	rw := &recordingWatcher{}
	e := newEnv(t, func(_ *Config, o *Options) {
		rw.inner = o.Watcher
		o.Watcher = rw
	})
	e.publish(welcomePro)

	send := func(msgs ...analytics.Message) {
		t.Helper()
		cb := &clientCallback{}
		client, err := analytics.NewWithConfig(testWriteKey, analytics.Config{
			Endpoint: e.ts.URL, Interval: 5 * time.Millisecond, BatchSize: 100, Callback: cb,
			Logger: analytics.StdLogger(log.New(io.Discard, "", 0)),
		})
		require.NoError(t, err)
		for _, m := range msgs {
			require.NoError(t, client.Enqueue(m))
		}
		require.NoError(t, client.Close()) // flushes and waits for the answers
		require.Equal(t, 0, cb.fail, "%v", cb.errs)
		require.Equal(t, len(msgs), cb.ok)
	}

	// An anonymous visitor browses, then signs up (identify links the
	// anonymous id), then a second device is aliased to the user.
	send(
		analytics.Track{AnonymousId: "anon-1", Event: "Viewed Pricing", Properties: analytics.NewProperties().Set("plan", "pro")},
		analytics.Identify{AnonymousId: "anon-1", UserId: "user-42",
			Traits: analytics.NewTraits().SetEmail("Ada@Example.com").SetFirstName("Ada").Set("plan", "free").Set("address", map[string]any{"city": "Bangkok"})},
	)
	id, err := e.store.ResolveUser(e.ctx, "user-42")
	require.NoError(t, err)
	for _, ident := range []string{"anon-1", "ada@example.com"} {
		got, err := e.store.ResolveUser(e.ctx, ident)
		require.NoError(t, err)
		require.Equal(t, id, got, ident)
	}
	p, err := e.store.Profile(e.ctx, id)
	require.NoError(t, err)
	require.Equal(t, "Ada", p.Traits["first_name"])
	require.Equal(t, "Bangkok", p.Traits["address_city"])
	require.Equal(t, "ada@example.com", p.Email)

	// Consent through the admin API; then the upgrade arrives.
	code, body, _ := e.do("POST", "/api/v1/consents", tokAdmin, map[string]any{"user": "user-42", "purpose": "marketing", "channel": "email", "status": "granted"})
	require.Equal(t, http.StatusOK, code, string(body))
	// The server's (manual) clock moves on: timestamps are corrected onto
	// it with sentAt, and the later identify must be the more recent one.
	e.clk.Advance(time.Minute)
	send(
		analytics.Alias{PreviousId: "anon-2", UserId: "user-42"},
		analytics.Track{AnonymousId: "anon-2", Event: "Order Completed", Properties: analytics.NewProperties().SetRevenue(99.5)},
		analytics.Page{UserId: "user-42", Name: "Pricing", Properties: analytics.NewProperties().SetURL("https://example.com/pricing")},
		analytics.Identify{UserId: "user-42", Traits: analytics.NewTraits().Set("plan", "pro")},
	)
	got, err := e.store.ResolveUser(e.ctx, "anon-2")
	require.NoError(t, err)
	require.Equal(t, id, got)
	evs, err := e.store.Events(e.ctx, id, 0)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, ev := range evs {
		names[ev.Event] = true
	}
	require.Equal(t, map[string]bool{"Viewed Pricing": true, "Order Completed": true, "page": true}, names)

	// Segments see the data as soon as the request was answered.
	code, body, _ = e.do("POST", "/api/v1/segments/count", tokRead, map[string]any{"expr": `plan == "pro" and count(events, .event == "Order Completed") >= 1`, "purpose": "marketing", "channel": "email"})
	require.Equal(t, http.StatusOK, code, string(body))
	var cnt struct{ Count int64 }
	require.NoError(t, json.Unmarshal(body, &cnt))
	require.EqualValues(t, 1, cnt.Count)

	// The server told the journeys about the changed profile: the person
	// is inside the segment-entry journey, and the next tick sends.
	require.NoError(t, e.srv.syncWatcher(e.ctx))
	require.NoError(t, rw.err(), "profile change notification")
	require.Contains(t, rw.seen(), id)
	st, err := e.runner.Stats(e.ctx, "welcome-pro")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Entered)
	e.tick()
	require.Equal(t, 1, e.email.sentTo(id))

	// /metrics shows the journey's step counts and sends.
	require.NoError(t, e.srv.RegisterJourneyMetrics(e.runner))
	code, body, _ = e.do("GET", "/metrics", "", nil)
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `tact_journey_sends_total{journey="welcome-pro",result="sent",step="hello"} 1`)
	require.Contains(t, string(body), `tact_ingest_messages_total{type="identify"} 2`)
}

func TestSegmentBatchFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// messageId de-duplication: the same batch twice stores each event once.
	batch := map[string]any{"batch": []any{
		map[string]any{"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m-1", "timestamp": "2026-03-02T08:00:00Z"},
		map[string]any{"type": "track", "userId": "u1", "event": "Opened App", "messageId": "m-2", "timestamp": "2026-03-02T08:01:00.123Z"},
	}}
	for i := 0; i < 2; i++ {
		code, body := e.ingest("/v1/batch", batch)
		require.Equal(t, http.StatusOK, code, string(body))
		require.JSONEq(t, `{"success":true}`, string(body))
	}
	require.Equal(t, 2, e.counts().Events)

	// sentAt corrects the client's clock: it is an hour fast.
	code, body := e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "Skewed", "messageId": "m-3",
		"timestamp": t0.Add(time.Hour - time.Minute).Format(time.RFC3339), "sentAt": t0.Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, code, string(body))
	id, err := e.store.ResolveUser(e.ctx, "u1")
	require.NoError(t, err)
	evs, err := e.store.Events(e.ctx, id, 0)
	require.NoError(t, err)
	var skewed time.Time
	for _, ev := range evs {
		if ev.Event == "Skewed" {
			skewed = ev.Timestamp
		}
	}
	require.Equal(t, t0.Add(-time.Minute), skewed.UTC())

	// gzip bodies, as analytics.js and other SDKs send them.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write([]byte(`{"batch":[{"type":"screen","anonymousId":"a-9","name":"Home","messageId":"m-4"}],"sentAt":"2026-03-02T09:00:00Z"}`))
	require.NoError(t, zw.Close())
	req, _ := http.NewRequest("POST", e.ts.URL+"/v1/batch", &zb)
	req.SetBasicAuth(testWriteKey, "")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 4, e.counts().Events)

	// The write key may also come in the body; numbers are accepted as ids.
	code, body = e.ingest("/v1/identify", map[string]any{"userId": 12345, "traits": map[string]any{"plan": "pro"}})
	require.Equal(t, http.StatusOK, code, string(body))
	_, err = e.store.ResolveUser(e.ctx, "12345")
	require.NoError(t, err)
}

// TestIngestRefusals: malformed, oversized, unauthenticated and invalid
// messages get a clear 4xx and nothing of the request is written.
func TestIngestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := strings.Repeat("x", 40<<10)
	cases := []struct {
		name   string
		path   string
		body   string
		auth   string
		hdr    []string
		status int
		code   string
		field  string
	}{
		{"malformed", "/v1/batch", `{"batch":[{"type":"track",`, testWriteKey, nil, 400, "malformed_json", ""},
		{"no write key", "/v1/track", `{"userId":"u","event":"E"}`, "", nil, 401, "unauthorized", ""},
		{"wrong write key", "/v1/track", `{"userId":"u","event":"E"}`, "nope-nope-nope", nil, 401, "unauthorized", ""},
		{"no identity", "/v1/track", `{"event":"E"}`, testWriteKey, nil, 400, "invalid", "userId"},
		{"no event name", "/v1/track", `{"userId":"u"}`, testWriteKey, nil, 400, "invalid", "event"},
		{"bad timestamp", "/v1/track", `{"userId":"u","event":"E","timestamp":"yesterday"}`, testWriteKey, nil, 400, "invalid", "timestamp"},
		{"type mismatch", "/v1/track", `{"type":"identify","userId":"u"}`, testWriteKey, nil, 400, "invalid", "type"},
		{"unknown type", "/v1/batch", `{"batch":[{"type":"launch","userId":"u"}]}`, testWriteKey, nil, 400, "invalid", "batch[0].type"},
		{"one bad message spoils the batch", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"Good"},{"type":"track","event":"NoUser"}]}`, testWriteKey, nil, 400, "invalid", "batch[1].userId"},
		{"bad email trait", "/v1/identify", `{"userId":"u","traits":{"email":"not-an-address"}}`, testWriteKey, nil, 400, "invalid", "traits.email"},
		{"properties not an object", "/v1/track", `{"userId":"u","event":"E","properties":[1,2]}`, testWriteKey, nil, 400, "invalid", "properties"},
		{"message too large", "/v1/track", `{"userId":"u","event":"E","properties":{"x":"` + big + `"}}`, testWriteKey, nil, 413, "too_large", ""},
		{"batch too large", "/v1/batch", `{"batch":[` + strings.Repeat(`{"type":"track","userId":"u","event":"E","properties":{"x":"`+big[:20000]+`"}},`, 30) + `{}]}`, testWriteKey, nil, 413, "too_large", ""},
		{"bad gzip", "/v1/track", `not gzip`, testWriteKey, []string{"Content-Encoding", "gzip"}, 400, "invalid", ""},
		{"empty batch", "/v1/batch", `{"batch":[]}`, testWriteKey, nil, 400, "invalid", "batch"},
		{"trait type conflict", "/v1/identify", `{"userId":"u","traits":{"age":"thirty"}}`, testWriteKey, nil, 400, "invalid", "age"},
	}
	// age is an integer trait.
	code, body := e.ingest("/v1/identify", map[string]any{"userId": "seed", "traits": map[string]any{"age": 30}})
	require.Equal(t, 200, code, string(body))
	before := e.counts()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.ts.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.auth != "" {
				req.SetBasicAuth(tc.auth, "")
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			require.Equal(t, tc.status, resp.StatusCode, buf.String())
			c, f := errCode(t, buf.Bytes())
			require.Equal(t, tc.code, c, buf.String())
			require.Equal(t, tc.field, f, buf.String())
		})
	}
	require.Equal(t, before, e.counts(), "a refused request wrote something")
}

// trackConcurrently posts per track events from each of clients
// concurrent clients (user u<c>, message ids m-<c>-<i>) and requires each to
// be acknowledged and readable as soon as it is: acknowledged means durable.
func trackConcurrently(t *testing.T, e *env, clients, per int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients*per)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("m-%d-%d", c, i)
				code, body := e.ingest("/v1/track", map[string]any{"userId": fmt.Sprintf("u%d", c), "event": "Tick", "messageId": id})
				if code != 200 {
					errs <- fmt.Errorf("status %d: %s", code, body)
					continue
				}
				var n int
				if err := e.store.DB().QueryRow(`SELECT count(*) FROM events WHERE message_id = ?`, id).Scan(&n); err != nil || n != 1 {
					errs <- fmt.Errorf("acknowledged event %s not stored (n=%d, err=%w)", id, n, err)
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestGroupCommit: many concurrent requests share a few transactions, and
// each is answered only once its rows are committed.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	imp := &countingImporter{}
	e := newEnv(t, func(c *Config, o *Options) {
		c.Ingest.FlushInterval = 20 * time.Millisecond
		imp.next = o.Store
		o.Importer = imp
	})
	const clients, per = 16, 5
	trackConcurrently(t, e, clients, per)
	require.Equal(t, clients*per, e.counts().Events)
	calls := imp.calls()
	require.Less(t, calls, clients*per/2, "expected group commits, got %d import calls for %d requests", calls, clients*per)
}

type countingImporter struct {
	next Importer
	mu   sync.Mutex
	n    int
}

func (c *countingImporter) ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.ImportRows(ctx, kind, label, rows)
}

func (c *countingImporter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// recordingWatcher remembers what the server told the journeys.
type recordingWatcher struct {
	inner ProfileWatcher
	mu    sync.Mutex
	ids   []int64
	errs  []error
}

func (w *recordingWatcher) ProfilesChanged(ctx context.Context, ids []int64) error {
	err := w.inner.ProfilesChanged(ctx, ids)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids = append(w.ids, ids...)
	if err != nil {
		w.errs = append(w.errs, err)
	}
	return err
}

func (w *recordingWatcher) seen() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.ids...)
}

func (w *recordingWatcher) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d errors, first: %w", len(w.errs), w.errs[0])
}

// TestGroupCommitIsolatesABadRequest: a request the store refuses fails
// alone; the others in its group commit are written.
func TestGroupCommitIsolatesABadRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) { c.Ingest.FlushInterval = 50 * time.Millisecond })
	code, body := e.ingest("/v1/identify", map[string]any{"userId": "seed", "traits": map[string]any{"age": 30}})
	require.Equal(t, 200, code, string(body))
	const n = 9
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			traits := map[string]any{"age": i}
			if i == 4 {
				traits["age"] = "not a number" // the store refuses this one
			}
			codes[i], _ = e.ingest("/v1/identify", map[string]any{"userId": fmt.Sprintf("u%d", i), "traits": traits})
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if i == 4 {
			require.Equal(t, 400, c)
			_, err := e.store.ResolveUser(e.ctx, "u4")
			require.Error(t, err, "nothing of the refused request is written")
			continue
		}
		require.Equal(t, 200, c, "request %d", i)
		_, err := e.store.ResolveUser(e.ctx, fmt.Sprintf("u%d", i))
		require.NoError(t, err)
	}
}

// TestEventJourneyWithinASecond: an event accepted by /v1/track reaches an
// event-triggered journey, and its send, within a second, through the
// server's scheduler loop (woken by the commit, not by its interval).
func TestEventJourneyWithinASecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Options) { c.SchedulerInterval = time.Hour })
	e.email.notify = make(chan channels.Message, 10)
	e.publish(`
name: order-thanks
purpose: marketing
entry:
  event: Order Completed
steps:
  - id: thanks
    send: {channel: email, template: thanks}
`)
	id := e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"}, "marketing/email")
	e.srv.StartScheduler(journeys.NewScheduler(e.runner, journeys.SchedulerConfig{Interval: time.Hour, OnTick: e.srv.Metrics().ObserveTick}))
	code, body := e.ingest("/v1/track", map[string]any{"userId": "u1", "event": "Order Completed", "properties": map[string]any{"total": 12}})
	require.Equal(t, 200, code, string(body))
	start := time.Now() // acknowledged: durable and visible
	select {
	case m := <-e.email.notify:
		require.Equal(t, id, m.ProfileID)
		require.Less(t, time.Since(start), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the event-triggered journey did not send within 5s")
	}
}

// TestBrowserSDKShape: analytics.js posts text/plain to the short paths
// with the write key in the body, after a CORS preflight.
func TestBrowserSDKShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.ts.URL+"/v1/t", nil)
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))

	body := `{"type":"track","event":"Added to Cart","anonymousId":"web-1","writeKey":"` + testWriteKey + `","messageId":"ajs-1","sentAt":"2026-03-02T09:00:00.000Z","timestamp":"2026-03-02T08:59:59.000Z","context":{"page":{"path":"/cart","referrer":"https://mail.example/inbox?u=ada"},"ip":"203.0.113.9","userAgent":"Mozilla/5.0"}}`
	req, _ = http.NewRequest("POST", e.ts.URL+"/v1/t", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, 1, e.counts().Events)
	id, err := e.store.ResolveUser(e.ctx, "web-1")
	require.NoError(t, err)
	evs, err := e.store.Events(e.ctx, id, 0)
	require.NoError(t, err)
	require.Empty(t, evs[0].Properties, "the context is not merged into the properties")
	require.JSONEq(t, `{"page":{"path":"/cart"}}`, string(evs[0].Context), "no IP, user agent or referrer is kept")
}
