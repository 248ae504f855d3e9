package journeys

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
)

// benchPeople is the audience size of the benchmarks (default 1M;
// TACT_BENCH_PEOPLE overrides, e.g. 100000 for a quick run).
func benchPeople() int {
	if v, err := strconv.Atoi(os.Getenv("TACT_BENCH_PEOPLE")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

type discard struct{ name string }

func (d discard) Name() string { return d.name }
func (d discard) Send(_ context.Context, b []channels.Message) []channels.Result {
	out := make([]channels.Result, len(b))
	for i := range out {
		out[i] = channels.Result{Status: channels.StatusDelivered, Units: 1}
	}
	return out
}

// benchStore builds a database with n people, each with an email address
// and marketing email consent, bulk-loaded with SQL (the import path is
// measured elsewhere).
func benchStore(b *testing.B, n int) (*engine.Store, *clock.Manual) {
	b.Helper()
	ctx := context.Background()
	clk := clock.NewManual(t0)
	st, err := engine.Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"), engine.Options{Clock: clk})
	require.NoError(b, err)
	b.Cleanup(func() { st.Close() })
	require.NoError(b, seedPeople(ctx, st, n, t0))
	clk.Advance(time.Minute)
	return st, clk
}

// seedPeople bulk-loads n people (ids 1..n) with an email address, a time
// zone for two thirds of them and marketing email consent, with SQL.
func seedPeople(ctx context.Context, st *engine.Store, n int, at time.Time) error {
	db := st.DB()
	for _, q := range []string{
		`INSERT INTO profiles (id, user_id, email, timezone, restricted, objected, first_seen_at, updated_at)
SELECT i, 'b' || i, 'b' || i || '@example.com', CASE i % 3 WHEN 0 THEN 'Asia/Bangkok' WHEN 1 THEN 'Europe/London' ELSE NULL END, false, false, ?::TIMESTAMP, ?::TIMESTAMP FROM range(1, ` + strconv.Itoa(n+1) + `) t(i)`,
		`INSERT INTO identities SELECT id, 'email', email, md5(email), 'bench', ?::TIMESTAMP FROM profiles WHERE ?::TIMESTAMP IS NOT NULL`,
		`INSERT INTO consent_ledger SELECT id, id, 'marketing', 'email', 'granted', ?::TIMESTAMP, ?::TIMESTAMP, NULL, NULL, 'bench', 'bench', 'k' || id FROM profiles`,
	} {
		if _, err := db.ExecContext(ctx, q, at, at); err != nil {
			return err
		}
	}
	return st.RebuildConsentState(ctx)
}

func benchEnter(b *testing.B, r *Runner, name string, n int) {
	b.Helper()
	es := make([]APIEntry, n)
	for i := range es {
		es[i] = APIEntry{ProfileID: int64(i + 1)}
	}
	got, err := r.Trigger(context.Background(), name, es)
	require.NoError(b, err)
	require.Equal(b, n, got)
}

// BenchmarkSendStep: messages per second for a one-million-person send
// step: the step query, policy, outbox writes, gate, channel batches and
// result write-back. "discard" is the runner's own ceiling; "smtp" goes
// through channels/email's SMTP adapter (composition, DKIM-less MIME, links)
// to a go-smtp server on loopback.
//
//	go test ./journeys -run '^$' -bench SendStep -benchtime 1x
func BenchmarkSendStep(b *testing.B) {
	for _, kind := range []string{"discard", "smtp"} {
		b.Run(kind, func(b *testing.B) {
			n := benchPeople()
			if kind == "smtp" && os.Getenv("TACT_BENCH_PEOPLE") == "" {
				n = 100_000 // the SMTP leg is bound by the adapter; 100k gives a stable rate
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, _ := benchStore(b, n)
				var ch channels.Channel = discard{name: "email"}
				var r *Runner
				if kind == "smtp" {
					sink := startSink(b, true)
					s, err := buildSMTP(sink.addr, channels.GateFunc(func(ctx context.Context, c string, m channels.Message) (string, error) {
						return r.Gate().Check(ctx, c, m)
					}), 8)
					require.NoError(b, err)
					b.Cleanup(func() { s.Close() })
					ch = s
				}
				var err error
				r, err = New(st, Config{Channels: []channels.Channel{ch}, BatchSize: 1000, PageSize: 50000})
				require.NoError(b, err)
				_, err = r.Publish(context.Background(), "b.yaml", []byte(`
name: bench
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
`))
				require.NoError(b, err)
				benchEnter(b, r, "bench", n)
				b.StartTimer()
				start := time.Now()
				res, err := r.RunUntilIdle(context.Background(), "")
				el := time.Since(start)
				require.NoError(b, err)
				require.Equal(b, n, res.Sent, "%+v", res)
				b.ReportMetric(float64(n)/el.Seconds(), "msgs/s")
				b.ReportMetric(float64(n), "people")
			}
		})
	}
}

// BenchmarkWaitStep: time for one million people at a wait step to
// advance when their wait ends (one INSERT … SELECT into the log and one
// UPDATE).
func BenchmarkWaitStep(b *testing.B) {
	n := benchPeople()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, clk := benchStore(b, n)
		r, err := New(st, Config{})
		require.NoError(b, err)
		_, err = r.Publish(context.Background(), "w.yaml", []byte(`
name: waiter
purpose: marketing
entry: api
steps:
  - id: pause
    wait: {duration: 1d}
  - id: after
    wait: {duration: 30d}
`))
		require.NoError(b, err)
		benchEnter(b, r, "waiter", n)
		_, err = r.RunUntilIdle(context.Background(), "")
		require.NoError(b, err)
		clk.Advance(25 * time.Hour)
		b.StartTimer()
		start := time.Now()
		res, err := r.RunUntilIdle(context.Background(), "")
		el := time.Since(start)
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, n, res.Moved, "%+v", res)
		b.ReportMetric(el.Seconds(), "s/advance")
		b.ReportMetric(float64(n), "people")
		fmt.Fprint(os.Stderr)
	}
}
