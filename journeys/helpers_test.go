package journeys

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

// env is one test database with a manual clock and a recording channel per
// channel name.
type env struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.Manual
	store *engine.Store
	chans map[string]*recorder
	r     *Runner
}

func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewManual(t0)
	st, err := engine.Open(ctx, filepath.Join(t.TempDir(), "tact.duckdb"), engine.Options{Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: ctx, clk: clk, store: st, chans: map[string]*recorder{}}
	cfg := Config{Sleep: func(context.Context, time.Duration) error { return nil }}
	for _, n := range []string{"email", "sms", "push", "webhook"} {
		rec := &recorder{name: n}
		e.chans[n] = rec
		cfg.Channels = append(cfg.Channels, rec)
	}
	for _, m := range mod {
		m(&cfg)
	}
	e.r, err = New(st, cfg)
	require.NoError(t, err)
	return e
}

// person is a profile to import.
type person struct {
	User     string
	Email    string
	Phone    string
	TZ       string
	Traits   map[string]any
	Consents []string // "purpose/channel" granted
}

// people imports profiles and grants consents; returns ids in order.
func (e *env) people(ps ...person) []int64 {
	e.t.Helper()
	rows := make([]map[string]any, len(ps))
	for i, p := range ps {
		row := map[string]any{"user_id": p.User}
		if p.Email != "" {
			row["email"] = p.Email
		}
		if p.Phone != "" {
			row["phone"] = p.Phone
		}
		if p.TZ != "" {
			row["timezone"] = p.TZ
		}
		for k, v := range p.Traits {
			row[k] = v
		}
		rows[i] = row
	}
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "test", rows)
	require.NoError(e.t, err)
	ids := make([]int64, len(ps))
	var ins []engine.ConsentInput
	for i, p := range ps {
		ids[i], err = e.store.ResolveUser(e.ctx, p.User)
		require.NoError(e.t, err)
		for _, c := range p.Consents {
			var purpose, ch string
			_, err := fmt.Sscanf(c, "%s", &purpose)
			require.NoError(e.t, err)
			for j := range c {
				if c[j] == '/' {
					purpose, ch = c[:j], c[j+1:]
				}
			}
			ins = append(ins, engine.ConsentInput{ProfileID: ids[i], Purpose: purpose, Channel: ch, Status: consent.Granted, Source: "test"})
		}
	}
	if len(ins) > 0 {
		require.NoError(e.t, e.store.RecordConsents(e.ctx, ins))
	}
	return ids
}

// crowd makes n people with email and marketing/email consent.
func (e *env) crowd(n int, tz string) []int64 {
	ps := make([]person, n)
	for i := range ps {
		ps[i] = person{User: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), TZ: tz,
			Traits: map[string]any{"first_name": fmt.Sprintf("N%d", i), "ltv": i * 10}, Consents: []string{"marketing/email"}}
	}
	return e.people(ps...)
}

func (e *env) publish(src string) Version {
	e.t.Helper()
	v, err := e.r.Publish(e.ctx, "test.yaml", []byte(src))
	require.NoError(e.t, err)
	return v
}

func (e *env) run() TickResult {
	e.t.Helper()
	res, err := e.r.RunUntilIdle(e.ctx, "")
	require.NoError(e.t, err)
	require.Empty(e.t, res.Errors)
	return res
}

// advance moves the clock and runs until idle.
func (e *env) advance(d time.Duration) TickResult {
	e.clk.Advance(d)
	return e.run()
}

func (e *env) stats(name string) Stats {
	e.t.Helper()
	s, err := e.r.Stats(e.ctx, name)
	require.NoError(e.t, err)
	return s
}

func (s Stats) step(id string) StepStats {
	for _, x := range s.Steps {
		if x.Step == id {
			return x
		}
	}
	return StepStats{}
}

// recorder is a channel that records what it is sent.
type recorder struct {
	name string
	mu   sync.Mutex
	msgs []channels.Message
	// fail, when set, decides a result per message (nil = delivered).
	fail func(m channels.Message) *channels.Result
}

func (c *recorder) Name() string { return c.name }

func (c *recorder) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		if c.fail != nil {
			if r := c.fail(m); r != nil {
				out[i] = *r
				continue
			}
		}
		c.msgs = append(c.msgs, m)
		out[i] = channels.Delivered("id-" + m.IdempotencyKey)
	}
	return out
}

func (c *recorder) sent() []channels.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]channels.Message(nil), c.msgs...)
}

// byStep counts recorded messages per step and lists recipients.
func (c *recorder) to(step string) []int64 {
	var ids []int64
	for _, m := range c.sent() {
		if m.Step == step {
			ids = append(ids, m.ProfileID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (e *env) withdraw(ids []int64, purpose, ch string) {
	e.t.Helper()
	var ins []engine.ConsentInput
	for _, id := range ids {
		ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: purpose, Channel: ch, Status: consent.Withdrawn, Source: "test"})
	}
	require.NoError(e.t, e.store.RecordConsents(e.ctx, ins))
}

func (e *env) logCount(journey, step, kind, reason string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_log WHERE journey = ? AND step = ? AND kind = ? AND coalesce(reason, '') = ?`, journey, step, kind, reason).Scan(&n))
	return n
}
