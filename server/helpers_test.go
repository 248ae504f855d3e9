package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/journeys/bridge"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const (
	testWriteKey = "wk_test_0123456789"
	tokRead      = "tok-read-0123456789abcdefghij"
	tokMarketer  = "tok-marketer-0123456789abcdefgh"
	tokAdmin     = "tok-admin-0123456789abcdefghijk"
	testLinkKey  = "6b6579206f66206174206c65617374207468697274792d74776f2062797465732121"
	twilioToken  = "twilio-auth-token-for-tests"
)

// recorder is a channel that records what it is sent.
type recorder struct {
	name string
	mu   sync.Mutex
	msgs []channels.Message
	// notify, when set, receives a value per message sent.
	notify chan channels.Message
	// fail, when set, is the result of every send (a refusing provider).
	fail *channels.Result
}

func (c *recorder) Name() string { return c.name }

func (c *recorder) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		c.msgs = append(c.msgs, m)
		out[i] = channels.Delivered("id-" + m.IdempotencyKey)
		if c.fail != nil {
			out[i] = *c.fail
		}
		if c.notify != nil {
			select {
			case c.notify <- m:
			default:
			}
		}
	}
	return out
}

func (c *recorder) sentTo(id int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m.ProfileID == id {
			n++
		}
	}
	return n
}

// codeCatcher is a CodeSender that keeps the last code.
type codeCatcher struct {
	mu   sync.Mutex
	to   CodeRecipient
	code string
}

func (c *codeCatcher) SendCode(ctx context.Context, to CodeRecipient, code string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.to, c.code = to, code
	return nil
}

func (c *codeCatcher) last() (CodeRecipient, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.to, c.code
}

// env is one server over a fresh database file, with a manual clock, a
// journey runner whose channels record their sends, and an httptest server
// on loopback.
type env struct {
	t      testing.TB
	ctx    context.Context
	clk    *clock.Manual
	store  *engine.Store
	runner *journeys.Runner
	email  *recorder
	sms    *recorder
	srv    *Server
	ts     *httptest.Server
	codes  *codeCatcher
}

func newEnv(t testing.TB, mod ...func(*Config, *Options)) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewManual(t0)
	st, err := engine.Open(ctx, filepath.Join(t.TempDir(), "tact.duckdb"), engine.Options{Clock: clk})
	require.NoError(t, err)
	e := &env{t: t, ctx: ctx, clk: clk, store: st, email: &recorder{name: "email"}, sms: &recorder{name: "sms"}, codes: &codeCatcher{}}
	e.runner, err = journeys.New(st, journeys.Config{Channels: []channels.Channel{e.email, e.sms}, Clock: clk,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	var h http.Handler = http.NotFoundHandler()
	var hmu sync.RWMutex
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.RLock()
		hh := h
		hmu.RUnlock()
		hh.ServeHTTP(w, r)
	}))
	cfg := Config{
		PublicURL: e.ts.URL,
		WriteKeys: WriteKeyList{{Key: testWriteKey}},
		Tokens: []TokenConfig{
			{Name: "reader", Role: RoleRead, Token: tokRead},
			{Name: "marketer", Role: RoleMarketer, Token: tokMarketer},
			{Name: "admin", Role: RoleAdmin, Token: tokAdmin},
		},
		LinkKeys:  []string{testLinkKey},
		Ingest:    IngestConfig{FlushInterval: 2 * time.Millisecond},
		RateLimit: RateLimitConfig{PerIP: 10000, PerIPBurst: 10000, PerToken: 10000, PerTokBurst: 10000},
	}
	ja := JourneysAdapter{Runner: e.runner}
	var logw io.Writer = io.Discard
	if os.Getenv("TACT_TEST_LOG") != "" {
		logw = os.Stderr
	}
	opts := Options{Store: st, Clock: clk, WallClock: clk, Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Segments: SegmentsAdapter{Store: st}, Journeys: ja, Watcher: ja, Sink: bridge.New(st), CodeSender: e.codes,
		Channels: &setup.Set{TwilioAuthToken: twilioToken, SMSInbound: sms.InboundConfig{
			HelpText: "Tact: help at example.com. Reply STOP to cancel.", StopText: "You are unsubscribed."}}}
	for _, m := range mod {
		m(&cfg, &opts)
	}
	opts.Config = cfg
	e.srv, err = New(opts)
	require.NoError(t, err)
	if _, held := opts.Importer.(*warmingStore); !held {
		<-e.srv.warm.done // the tests assert readiness, not how soon the warm-up ends
	}
	hmu.Lock()
	h = e.srv.Handler()
	hmu.Unlock()
	t.Cleanup(func() {
		e.ts.Close()
		require.NoError(t, e.srv.Shutdown(context.Background()))
		require.NoError(t, st.Close())
	})
	return e
}

// do sends a request and returns the status and body.
func (e *env) do(method, path, token string, body any, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.ts.URL+path, rd)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, out, resp.Header
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

// ingest posts a Segment body with the test write key.
func (e *env) ingest(path string, body any) (int, []byte) {
	e.t.Helper()
	return e.ingestWith(testWriteKey, path, body)
}

// person imports a profile and grants consents ("purpose/channel").
func (e *env) person(row map[string]any, grants ...string) int64 {
	e.t.Helper()
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "test", []map[string]any{row})
	require.NoError(e.t, err)
	var ident string
	for _, k := range []string{"user_id", "email", "phone"} {
		if v, ok := row[k].(string); ok {
			ident = v
			break
		}
	}
	id, err := e.store.ResolveUser(e.ctx, ident)
	require.NoError(e.t, err)
	var ins []engine.ConsentInput
	for _, g := range grants {
		p, c, _ := strings.Cut(g, "/")
		ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: p, Channel: c, Status: consent.Granted, Source: "test"})
	}
	if len(ins) > 0 {
		require.NoError(e.t, e.store.RecordConsents(e.ctx, ins))
	}
	return id
}

func (e *env) granted(id int64, purpose, channel string) bool {
	e.t.Helper()
	d, err := e.store.EvaluateConsent(e.ctx, id, purpose, channel, e.clk.Now())
	require.NoError(e.t, err)
	return d.Granted
}

func (e *env) counts() engine.Counts {
	e.t.Helper()
	c, err := e.store.Counts(e.ctx)
	require.NoError(e.t, err)
	return c
}

// publish publishes a journey spec through the store's runner.
func (e *env) publish(spec string) {
	e.t.Helper()
	_, err := e.runner.Publish(e.ctx, "test.yaml", []byte(spec))
	require.NoError(e.t, err)
}

// tick runs the journeys until idle.
func (e *env) tick() journeys.TickResult {
	e.t.Helper()
	res, err := e.runner.RunUntilIdle(e.ctx, "")
	require.NoError(e.t, err)
	require.Empty(e.t, res.Errors)
	return res
}

// link issues a preference or unsubscribe URL for a person.
func (e *env) link(kind string, id int64, purpose, channel string) string {
	e.t.Helper()
	var u string
	var err error
	if kind == "unsubscribe" {
		u, _, err = e.srv.Links().Unsubscribe(id, purpose, channel)
	} else {
		u, _, err = e.srv.Links().Preferences(id, purpose, channel)
	}
	require.NoError(e.t, err)
	return u
}

func errCode(t testing.TB, body []byte) (code, field string) {
	t.Helper()
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &v), string(body))
	require.NotEmpty(t, v.Error.Message, string(body))
	return v.Error.Code, v.Error.Field
}
