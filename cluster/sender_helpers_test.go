package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/journeys"
)

// call is one provider call a recording channel started.
type call struct {
	key     string
	profile int64
	sender  string
	at      time.Time
}

// calls records the provider calls of every sender of a test.
type calls struct {
	mu  sync.Mutex
	all []call
}

func (c *calls) add(k call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, k)
}

func (c *calls) list() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]call(nil), c.all...)
}

func (c *calls) count(sender string) int {
	n := 0
	for _, k := range c.list() {
		if sender == "" || k.sender == sender {
			n++
		}
	}
	return n
}

// provider is a sender's email channel: like the real adapters it asks the
// gate right before each provider call; the call is recorded and takes
// delay. before, when set, runs ahead of each message's gate check (a test
// holds sends there).
type provider struct {
	name   string
	gate   channels.Gate
	rec    *calls
	delay  time.Duration
	before func(context.Context)
}

func (p *provider) Name() string { return channels.Email }

func (p *provider) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		if p.before != nil {
			p.before(ctx)
		}
		if ctx.Err() != nil {
			out[i] = channels.Transient("context", ctx.Err())
			continue
		}
		if r, ok := channels.CheckGate(ctx, p.gate, channels.Email, m); !ok {
			out[i] = r
			continue
		}
		p.rec.add(call{key: m.IdempotencyKey, profile: m.ProfileID, sender: p.name, at: time.Now()})
		time.Sleep(p.delay)
		out[i] = channels.Delivered("id-" + m.IdempotencyKey)
	}
	return out
}

// sendConfig is a test cluster's configuration with remote sends: short
// waits, so that a stopped sender's sends come back within seconds.
func sendConfig(nodes []*cluster.Node) cluster.Config {
	c := testConfig(nodes, 1)
	c.Send = cluster.SendConfig{Enabled: true, Partitions: 4, Batch: 10, AckWait: 2 * time.Second, PinnedTTL: time.Second,
		HoldDelay: 200 * time.Millisecond, EligibilityTimeout: time.Second, ResultTimeout: time.Minute}
	return c.WithDefaults()
}

// startSender runs a sender named name with a recording provider; stop
// kills it: its context ends and its connection closes, with whatever it
// holds unacknowledged.
func startSender(t *testing.T, cfg cluster.Config, name string, rec *calls, delay time.Duration) (stop func()) {
	t.Helper()
	return startSenderWith(t, cfg, &provider{name: name, rec: rec, delay: delay})
}

// startSenderWith runs a sender whose email channel is p, asking the
// sender's own remote gate.
func startSenderWith(t *testing.T, cfg cluster.Config, p *provider) (stop func()) {
	t.Helper()
	conn, err := cluster.Connect(cfg, p.name, nil)
	require.NoError(t, err)
	gate := cluster.NewRemoteGate(conn)
	p.gate = gate
	s := cluster.NewSender(conn, map[string]channels.Channel{channels.Email: p}, gate, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); conn.Close(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// decision is one eligibility answer the engine gave.
type decision struct {
	profile int64
	reason  string
	at      time.Time
}

// recordingGate records the engine's answers.
type recordingGate struct {
	gate channels.Gate
	mu   sync.Mutex
	log  []decision
}

func (g *recordingGate) Check(ctx context.Context, channel string, m channels.Message) (string, error) {
	reason, err := g.gate.Check(ctx, channel, m)
	g.mu.Lock()
	g.log = append(g.log, decision{profile: m.ProfileID, reason: reason, at: time.Now()})
	g.mu.Unlock()
	return reason, err
}

func (g *recordingGate) decisions() []decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]decision(nil), g.log...)
}

// sendEngine is an engine with n people granted marketing email, a journey
// that emails each once, and remote channels.
type sendEngine struct {
	conn   *cluster.Conn
	st     *engine.Store
	runner *journeys.Runner
	gate   *recordingGate
	people []int64
}

func startSendEngine(t *testing.T, cfg cluster.Config, n int) *sendEngine {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, t.TempDir()+"/engine.duckdb")
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"user_id": fmt.Sprintf("u%d", i), "email": fmt.Sprintf("u%d@example.com", i)}
	}
	_, err := st.ImportRows(ctx, engine.ImportProfiles, "people", rows)
	require.NoError(t, err)
	e := &sendEngine{st: st}
	var grants []engine.ConsentInput
	for i := range n {
		id, err := st.ResolveUser(ctx, fmt.Sprintf("u%d", i))
		require.NoError(t, err)
		e.people = append(e.people, id)
		grants = append(grants, engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email", Status: consent.Granted,
			Source: "signup", EffectiveAt: now.Add(-time.Hour)})
	}
	require.NoError(t, st.RecordConsents(ctx, grants))
	conn := connect(t, cfg, "engine")
	rs, err := cluster.NewRemoteSends(ctx, conn, nil, nil)
	require.NoError(t, err)
	t.Cleanup(rs.Close)
	e.runner, err = journeys.New(st, journeys.Config{Channels: []channels.Channel{rs.Channel(channels.Email)}})
	require.NoError(t, err)
	e.gate = &recordingGate{gate: e.runner.Gate()}
	e.conn = conn
	_, err = e.runner.Publish(ctx, "hello.yaml", []byte(`
name: hello
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: hello}
`))
	require.NoError(t, err)
	entries := make([]journeys.APIEntry, n)
	for i, id := range e.people {
		entries[i] = journeys.APIEntry{ProfileID: id}
	}
	_, err = e.runner.Trigger(ctx, "hello", entries)
	require.NoError(t, err)
	return e
}

// answer starts answering the senders' eligibility questions.
func (e *sendEngine) answer(t *testing.T) {
	t.Helper()
	svc, err := cluster.ServeEligibility(e.conn, e.gate, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
}

// stepStats is the send step's counts.
func (e *sendEngine) stepStats(t *testing.T) journeys.StepStats {
	t.Helper()
	s, err := e.runner.Stats(context.Background(), "hello")
	require.NoError(t, err)
	for _, st := range s.Steps {
		if st.Step == "hello" {
			return st
		}
	}
	t.Fatal("no step hello")
	return journeys.StepStats{}
}
