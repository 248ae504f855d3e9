package cluster_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/cluster"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// A sender killed mid-send loses nothing: its unacknowledged sends are
// offered to the other sender, which takes its partitions over without a
// restart; the provider sees a send twice only if it was in flight at the
// killed sender, and every person is emailed.
func TestSenderKilledMidSend(t *testing.T) {
	t.Parallel()
	cfg := sendConfig(startCluster(t, 1))
	const people = 240
	e := startSendEngine(t, cfg, people)
	e.answer(t)
	rec := &calls{}
	stops := map[string]func(){
		"a": startSender(t, cfg, "a", rec, 2*time.Millisecond),
		"b": startSender(t, cfg, "b", rec, 2*time.Millisecond),
	}

	done := make(chan error, 1)
	go func() { _, err := e.runner.RunUntilIdle(context.Background(), ""); done <- err }()
	// Kill a sender that is busy: the first to reach 20 provider calls.
	var killed string
	require.Eventually(t, func() bool {
		for _, name := range []string{"a", "b"} {
			if rec.count(name) >= 20 {
				killed = name
				return true
			}
		}
		return false
	}, time.Minute, time.Millisecond)
	stops[killed]()
	require.NoError(t, <-done)

	st := e.stepStats(t)
	require.Equal(t, int64(people), st.Sent, "every send delivered")
	require.Zero(t, st.Failed)
	perKey := map[string]int{}
	perProfile := map[int64]bool{}
	for _, c := range rec.list() {
		perKey[c.key]++
		perProfile[c.profile] = true
	}
	require.Len(t, perProfile, people, "every person reached the provider")
	dups := 0
	for _, n := range perKey {
		dups += n - 1
	}
	// The killed sender held at most one fetched batch per partition.
	require.LessOrEqual(t, dups, cfg.Send.Batch*cfg.Send.Partitions)
	t.Logf("killed %s after its %d calls; %d duplicates offered to the provider", killed, rec.count(killed), dups)
}

// Consent withdrawn while senders are busy: every eligibility answer the
// engine gives after the withdrawal's commit refuses, and every provider
// call for a withdrawn person started on an answer given before that
// commit returned.
func TestWithdrawalWhileSendersBusy(t *testing.T) {
	t.Parallel()
	cfg := sendConfig(startCluster(t, 1))
	const people = 200
	e := startSendEngine(t, cfg, people)
	e.answer(t)
	rec := &calls{}
	// After the first 30 messages, each waits ahead of its gate check for
	// the withdrawal's commit, so that sends are still due when it lands
	// however slow the machine (left to run, the senders finished all 200
	// before a slow commit, a CI flake).
	const before = 30
	var started atomic.Int64
	committedCh := make(chan struct{})
	var commitOnce sync.Once
	markCommitted := func() { commitOnce.Do(func() { close(committedCh) }) }
	hold := func(ctx context.Context) {
		if started.Add(1) > before {
			select {
			case <-committedCh:
			case <-ctx.Done():
			}
		}
	}
	startSenderWith(t, cfg, &provider{name: "a", rec: rec, delay: 3 * time.Millisecond, before: hold})
	startSenderWith(t, cfg, &provider{name: "b", rec: rec, delay: 3 * time.Millisecond, before: hold})
	t.Cleanup(markCommitted) // runs before the senders' cleanups: none stays held

	done := make(chan error, 1)
	go func() { _, err := e.runner.RunUntilIdle(context.Background(), ""); done <- err }()
	require.Eventually(t, func() bool { return rec.count("") >= before }, time.Minute, time.Millisecond)
	var withdraw []engine.ConsentInput
	for _, id := range e.people {
		withdraw = append(withdraw, engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email", Status: consent.Withdrawn, Source: "preference_centre"})
	}
	require.NoError(t, e.st.RecordConsents(context.Background(), withdraw))
	committed := time.Now()
	markCommitted()
	require.NoError(t, <-done)

	var lastAllowed time.Time
	refusedAfter := 0
	for _, d := range e.gate.decisions() {
		if d.at.After(committed) {
			require.NotEmpty(t, d.reason, "an answer after the withdrawal allowed profile %d", d.profile)
			refusedAfter++
		} else if d.reason == "" && d.at.After(lastAllowed) {
			lastAllowed = d.at
		}
	}
	require.Positive(t, refusedAfter, "the withdrawal came while sends were still due")
	late := 0
	for _, c := range rec.list() {
		if c.at.After(committed) {
			late++
			require.False(t, lastAllowed.After(committed), "an allowing answer after the commit")
		}
	}
	// Calls started after the commit could only be those allowed just
	// before it: one per sending partition at most.
	require.LessOrEqual(t, late, cfg.Send.Partitions)
	st := e.stepStats(t)
	require.Equal(t, int64(people), st.Sent+st.Skipped["withdrawn"], "every send delivered or skipped as withdrawn: %+v", st)
	require.Positive(t, st.Skipped["withdrawn"])
	t.Logf("%d sent, %d skipped as withdrawn, %d refusals after the commit, %d calls started after it", st.Sent, st.Skipped["withdrawn"], refusedAfter, late)
}

// While the engine does not answer eligibility questions, a sender holds
// every send (no provider call, nothing recorded as skipped) and offers it
// again; once the engine answers, each is sent once.
func TestSenderHoldsWhileTheEngineDoesNotAnswer(t *testing.T) {
	t.Parallel()
	cfg := sendConfig(startCluster(t, 1))
	const people = 30
	e := startSendEngine(t, cfg, people)
	rec := &calls{}
	conn, err := cluster.Connect(cfg, "sender", nil)
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	gate := cluster.NewRemoteGate(conn)
	metrics := cluster.NewSendMetrics()
	reg := prometheus.NewRegistry()
	require.NoError(t, metrics.RegisterSender(reg))
	s := cluster.NewSender(conn, map[string]channels.Channel{channels.Email: &provider{name: "s", gate: gate, rec: rec}}, gate, metrics, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	done := make(chan error, 1)
	go func() { _, err := e.runner.RunUntilIdle(context.Background(), ""); done <- err }()
	require.Eventually(t, func() bool { return gathered(t, reg, "tact_sender_held_total") >= people }, time.Minute, 10*time.Millisecond)
	require.Zero(t, rec.count(""), "no provider call without the engine's answer")

	e.answer(t)
	require.NoError(t, <-done)
	st := e.stepStats(t)
	require.Equal(t, int64(people), st.Sent)
	require.Empty(t, st.Skipped)
	require.Equal(t, people, rec.count(""), "each sent once")
}

// gathered is the value of the counter or gauge named name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	return 0
}

// flaky fails its first call for each key with a transient error, then
// delivers.
type flaky struct {
	provider
	mu   sync.Mutex
	seen map[string]bool
}

func (f *flaky) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := f.provider.Send(ctx, batch)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range batch {
		if !f.seen[m.IdempotencyKey] {
			f.seen[m.IdempotencyKey] = true
			out[i] = channels.Transient("smtp:421", errors.New("try later"))
		}
	}
	return out
}

// A send published again with the same idempotency key (the engine
// restarted with the batch in flight) is answered from the results bucket
// without a second provider call; after a transient failure, the retry
// reaches the provider again.
func TestSendAgainWithTheSameKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		transient bool
		calls     int
		second    channels.Status
	}{
		{"delivered: answered from the bucket", false, 1, channels.StatusDelivered},
		{"transient: sent again", true, 2, channels.StatusDelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := sendConfig(startCluster(t, 1))
			rec := &calls{}
			conn, err := cluster.Connect(cfg, "sender", nil)
			require.NoError(t, err)
			t.Cleanup(conn.Close)
			gate := cluster.NewRemoteGate(conn)
			var ch channels.Channel = &provider{name: "s", gate: gate, rec: rec}
			if tc.transient {
				ch = &flaky{provider: provider{name: "s", gate: gate, rec: rec}, seen: map[string]bool{}}
			}
			s := cluster.NewSender(conn, map[string]channels.Channel{channels.Email: ch}, gate, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { defer close(stopped); _ = s.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-stopped })

			engineConn := connect(t, cfg, "engine")
			rs, err := cluster.NewRemoteSends(context.Background(), engineConn, nil, nil)
			require.NoError(t, err)
			t.Cleanup(rs.Close)
			svc, err := cluster.ServeEligibility(engineConn, channels.GateFunc(func(context.Context, string, channels.Message) (string, error) { return "", nil }), nil, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = svc.Close() })

			msg := channels.Message{IdempotencyKey: channels.NewIdempotencyKey("j", 1, "s", 7, now), ProfileID: 7, Purpose: "marketing", To: "a@example.com"}
			first := rs.Channel(channels.Email).Send(context.Background(), []channels.Message{msg})
			second := rs.Channel(channels.Email).Send(context.Background(), []channels.Message{msg})
			require.Equal(t, tc.second, second[0].Status, "%+v", second[0])
			if !tc.transient {
				require.Equal(t, first[0], second[0], "the recorded result")
			} else {
				require.Equal(t, channels.StatusTransient, first[0].Status)
			}
			require.Equal(t, tc.calls, rec.count(""), "provider calls")
		})
	}
}
