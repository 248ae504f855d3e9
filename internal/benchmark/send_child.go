package benchmark

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/internal/dbtx"
	"github.com/tactcdp/tact/journeys"
)

// sendJourney is the one-step journey of the send leg.
const sendJourney = `
name: bench
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
`

// Send leg sizes: the channel batch and the outbox page, as the journeys
// package's own send benchmark uses; and how long before the measured run
// the prepared data is stamped.
const (
	sendBatch   = 1000
	sendPage    = 50_000
	sendDataAge = time.Minute
)

// gatedDiscard is a channel that delivers nowhere but, like every real
// adapter, asks the gate right before each "provider call".
type gatedDiscard struct{ gate channels.Gate }

func (gatedDiscard) Name() string { return channels.Email }

func (c gatedDiscard) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		if r, ok := channels.CheckGate(ctx, c.gate, channels.Email, m); !ok {
			out[i] = r
			continue
		}
		out[i] = channels.Delivered(m.IdempotencyKey)
	}
	return out
}

// runnerGate lets a channel built before its runner ask the runner's gate.
func runnerGate(r **journeys.Runner) channels.Gate {
	return channels.GateFunc(func(ctx context.Context, ch string, m channels.Message) (string, error) {
		return (*r).Gate().Check(ctx, ch, m)
	})
}

// sendPrepare builds the send leg's database through the importer: People
// profiles with an e-mail address and a marketing e-mail grant, the
// journey published and everyone entered (waiting at the send step).
func sendPrepare(ctx context.Context, t task) (childOutput, error) {
	profiles, consents := filepath.Join(t.Dir, "people.csv"), filepath.Join(t.Dir, "grants.csv")
	granted := time.Now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)
	if err := writeLines(profiles, "user_id,email,first_name\n", t.People, func(b []byte, i int) []byte {
		return fmt.Appendf(b, "s%d,s%d@example.com,Person%d\n", i, i, i)
	}); err != nil {
		return childOutput{}, err
	}
	if err := writeLines(consents, "user_id,purpose,channel,status,timestamp\n", t.People, func(b []byte, i int) []byte {
		return fmt.Appendf(b, "s%d,marketing,email,granted,%s\n", i, granted)
	}); err != nil {
		return childOutput{}, err
	}
	// The data is written as of a minute ago: the journey gate re-decides
	// people whose consent or profile changed in the seconds before a
	// send step (journeys' gate overlap), so data written just before the
	// measured run would send whoever ran soon enough after the prepare
	// (a quiet machine) down that path and the rest not.
	st, err := engine.Open(ctx, t.DB, engine.Options{Clock: clock.Fixed(time.Now().Add(-sendDataAge))})
	if err != nil {
		return childOutput{}, err
	}
	defer func() { _ = st.Close() }()
	if _, err := st.Import(ctx, engine.ImportProfiles, profiles); err != nil {
		return childOutput{}, err
	}
	if _, err := st.Import(ctx, engine.ImportConsents, consents); err != nil {
		return childOutput{}, err
	}
	var r *journeys.Runner
	r, err = journeys.New(st, journeys.Config{Channels: []channels.Channel{gatedDiscard{gate: runnerGate(&r)}}})
	if err != nil {
		return childOutput{}, err
	}
	if _, err := r.Publish(ctx, "bench.yaml", []byte(sendJourney)); err != nil {
		return childOutput{}, err
	}
	ids, err := profileIDs(ctx, st.DB())
	if err != nil {
		return childOutput{}, err
	}
	entries := make([]journeys.APIEntry, len(ids))
	for i, id := range ids {
		entries[i] = journeys.APIEntry{ProfileID: id}
	}
	n, err := r.Trigger(ctx, "bench", entries)
	if err != nil {
		return childOutput{}, err
	}
	if n != t.People {
		return childOutput{}, fmt.Errorf("send prepare: %d of %d people entered the journey", n, t.People)
	}
	return childOutput{}, nil
}

// writeLines writes a header and n lines built by line(buf, i), i from 1.
func writeLines(path, header string, n int, line func([]byte, int) []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString(header)
	var b []byte
	for i := 1; i <= n; i++ {
		b = line(b[:0], i)
		_, _ = w.Write(b)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// allocMeter measures Go heap allocation over a run.
type allocMeter struct{ bytes, mallocs uint64 }

func startAllocs() allocMeter {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return allocMeter{m.TotalAlloc, m.Mallocs}
}

// per sets s's bytes and allocations per message since the meter started.
func (a allocMeter) per(s *Side) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if s.Work > 0 {
		s.BytesPerMsg = round(float64(m.TotalAlloc-a.bytes)/float64(s.Work), 0)
		s.AllocsPerMsg = round(float64(m.Mallocs-a.mallocs)/float64(s.Work), 1)
	}
}

// runSendStep runs the prepared journey until idle into ch and measures
// it. All People must be sent.
func runSendStep(ctx context.Context, t task, what string, build func(gate channels.Gate) (channels.Channel, func(), error)) (childOutput, error) {
	st, err := engine.Open(ctx, t.DB, engine.Options{})
	if err != nil {
		return childOutput{}, err
	}
	defer func() { _ = st.Close() }()
	var r *journeys.Runner
	ch, closeCh, err := build(runnerGate(&r))
	if err != nil {
		return childOutput{}, err
	}
	defer closeCh()
	r, err = journeys.New(st, journeys.Config{Channels: []channels.Channel{ch}, BatchSize: sendBatch, PageSize: sendPage})
	if err != nil {
		return childOutput{}, err
	}
	meter := startAllocs()
	start := time.Now()
	res, err := r.RunUntilIdle(ctx, "")
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return childOutput{}, err
	}
	if res.Sent != t.People {
		return childOutput{}, fmt.Errorf("send step: %d of %d sent (%+v)", res.Sent, t.People, res)
	}
	s := newSide(what, UnitMessages, int64(res.Sent), elapsed)
	meter.per(&s)
	return single(s), nil
}

// sendTact is the send step into a discarding channel.
func sendTact(ctx context.Context, t task) (childOutput, error) {
	return runSendStep(ctx, t, "tact journey send step into a discarding channel (gate checked per message)",
		func(gate channels.Gate) (channels.Channel, func(), error) {
			return gatedDiscard{gate: gate}, func() {}, nil
		})
}

// sendReference is the minimal outbox pipeline: append People rows to an
// outbox table, read them back a batch at a time and mark each batch done
// with one UPDATE.
func sendReference(ctx context.Context, t task) (childOutput, error) {
	db, err := openDuckDB(t.DB)
	if err != nil {
		return childOutput{}, err
	}
	defer db.Close()
	q := queries()
	if _, err := db.ExecContext(ctx, q["outbox_create"]); err != nil {
		return childOutput{}, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return childOutput{}, err
	}
	defer conn.Close()
	meter := startAllocs()
	start := time.Now()
	err = dbtx.AppendN(conn, "outbox", t.People, func(i int) []driver.Value {
		id := int64(i + 1)
		return []driver.Value{id, id, "bench/1/hello/" + strconv.FormatInt(id, 10), channels.Email, "pending", nil}
	})
	if err != nil {
		return childOutput{}, err
	}
	done, after := 0, int64(0)
	for {
		lo, hi, n, err := nextBatch(ctx, conn, q["outbox_next"], after)
		if err != nil {
			return childOutput{}, err
		}
		if n == 0 {
			break
		}
		if _, err := conn.ExecContext(ctx, q["outbox_done"], lo, hi); err != nil {
			return childOutput{}, err
		}
		done, after = done+n, hi
	}
	elapsed := time.Since(start).Seconds()
	if done != t.People {
		return childOutput{}, fmt.Errorf("reference outbox: %d of %d rows done", done, t.People)
	}
	s := newSide("minimal outbox: Appender in, read back per batch, one UPDATE per batch", UnitMessages, int64(done), elapsed)
	meter.per(&s)
	return single(s), nil
}

// profileIDs lists every profile id, in order.
func profileIDs(ctx context.Context, db *sql.DB) ([]int64, error) {
	return dbtx.QueryColumn[int64](ctx, db, `SELECT id FROM profiles ORDER BY id`)
}

// nextBatch reads the reference outbox's next pending batch after id
// after, as a sender would, and returns its id range and size.
func nextBatch(ctx context.Context, conn *sql.Conn, query string, after int64) (lo, hi int64, n int, err error) {
	rows, err := conn.QueryContext(ctx, query, after, sendBatch)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, profile int64
		var key string
		if err := rows.Scan(&id, &profile, &key); err != nil {
			return 0, 0, 0, err
		}
		if n == 0 {
			lo = id
		}
		hi, n = id, n+1
	}
	return lo, hi, n, rows.Err()
}
