package journeys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/internal/dbtx"
)

const oneEmail = `
name: once
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
`

// probe is an email channel that delivers everything and, at each call,
// runs look (before delivering) with the batch it was handed.
type probe struct {
	recorder
	look func(batch []channels.Message)
}

func (p *probe) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	p.look(batch)
	return p.recorder.Send(ctx, batch)
}

// withEmail replaces the test environment's email channel by ch.
func withEmail(ch channels.Channel) func(*Config) {
	return func(c *Config) {
		for i, x := range c.Channels {
			if x.Name() == channels.Email {
				c.Channels[i] = ch
			}
		}
	}
}

// TestDispatchMarksEachBatchAndWritesItsResults: at every provider call,
// exactly the messages handed to it are marked in flight (not the one the
// gate refused), and every earlier batch's results are already written, so
// a crash can resend only the batch at the provider.
func TestDispatchMarksEachBatchAndWritesItsResults(t *testing.T) {
	t.Parallel()
	type call struct{ size, marked, markedHere, results int }
	var (
		mu    sync.Mutex
		calls []call
		e     *env
		ids   []int64
	)
	p := &probe{recorder: recorder{name: channels.Email}}
	p.look = func(batch []channels.Message) {
		mu.Lock()
		defer mu.Unlock()
		db := e.store.DB()
		keys := make([]string, len(batch))
		for i, m := range batch {
			keys[i] = "'" + m.IdempotencyKey + "'"
		}
		c := call{size: len(batch)}
		require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight`).Scan(&c.marked))
		require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight f JOIN journey_outbox o ON o.id = f.outbox_id
WHERE o.idem_key IN (`+strings.Join(keys, ",")+`)`).Scan(&c.markedHere))
		require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*) FROM journey_results`).Scan(&c.results))
		if len(calls) == 0 {
			e.withdraw(ids[9:], "marketing", "email") // in the third batch: the gate refuses it
		}
		calls = append(calls, c)
	}
	e = newEnv(t, withEmail(p), func(c *Config) { c.BatchSize = 4 })
	ids = e.crowd(10, "UTC")
	e.publish(oneEmail)
	enterAll(t, e, "once", ids)
	res := e.run()
	require.Equal(t, 9, res.Sent)
	require.Equal(t, 1, res.Skipped)
	require.Zero(t, res.Resent)
	require.Equal(t, []call{
		{size: 4, marked: 4, markedHere: 4, results: 0},
		{size: 4, marked: 4, markedHere: 4, results: 4},
		{size: 1, marked: 1, markedHere: 1, results: 8},
	}, calls)
	var marks, results int
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight`).Scan(&marks))
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_results`).Scan(&results))
	require.Zero(t, marks)
	require.Equal(t, 10, results)
}

// TestDispatchResendsWhatWasInFlight: after a process died with two sends
// marked in flight, one completed and two not yet tried, the next process
// resends the two with their idempotency keys (counted and logged as
// resent, reason interrupted), sends the two untried, and not the one that
// completed.
func TestDispatchResendsWhatWasInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = nil }) // sends stay in the outbox
	ids := e.crowd(5, "UTC")
	e.publish(oneEmail)
	enterAll(t, e, "once", ids)
	e.run()
	db := e.store.DB()
	rows, err := db.QueryContext(e.ctx, `SELECT id, idem_key FROM journey_outbox ORDER BY id`)
	require.NoError(t, err)
	var outbox []int64
	keys := map[int64]string{}
	for rows.Next() {
		var id int64
		var key string
		require.NoError(t, rows.Scan(&id, &key))
		outbox = append(outbox, id)
		keys[id] = key
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Len(t, outbox, 5)
	// What a process killed during its second batch leaves behind.
	_, err = db.ExecContext(e.ctx, `INSERT INTO journey_results VALUES (?, 1, ?, 'delivered', NULL, NULL, 'p-1')`, outbox[0], t0)
	require.NoError(t, err)
	_, err = db.ExecContext(e.ctx, `INSERT INTO journey_inflight VALUES (?, ?), (?, ?)`, outbox[1], t0, outbox[2], t0)
	require.NoError(t, err)

	rec := &recorder{name: channels.Email}
	r, err := New(e.store, Config{Channels: []channels.Channel{rec}, BatchSize: 2})
	require.NoError(t, err)
	e.clk.Advance(time.Minute)
	res, err := r.RunUntilIdle(e.ctx, "")
	require.NoError(t, err)
	require.Equal(t, 4, res.Sent)
	require.Equal(t, 2, res.Resent)
	var sent []string
	for _, m := range rec.sent() {
		sent = append(sent, m.IdempotencyKey)
	}
	require.Equal(t, []string{keys[outbox[1]], keys[outbox[2]], keys[outbox[3]], keys[outbox[4]]}, sent)
	st, err := r.Stats(e.ctx, "once")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.step("hello").Resent)
	require.Equal(t, 2, e.logCount("once", "hello", "resent", ReasonInterrupted))
	var marks int
	require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight`).Scan(&marks))
	require.Zero(t, marks)
}

// TestRateLimitStopWritesWhatWasSent: when the rate limiter stops a batch
// (ctx done), the sends already made keep their results and the rest get a
// transient one; nothing stays in flight to be resent as a duplicate.
func TestRateLimitStopWritesWhatWasSent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, func(c *Config) {
		c.Policy.RatePerSecond = map[string]float64{"email": 1}
		c.Now = func() time.Time { return t0 }
		c.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	})
	ids := e.crowd(3, "UTC")
	e.publish(oneEmail)
	enterAll(t, e, "once", ids)
	_, err := e.r.RunUntilIdle(ctx, "")
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, e.chans["email"].sent(), 1)
	var delivered, transient, marks int
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'transient')
FROM journey_results`).Scan(&delivered, &transient))
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight`).Scan(&marks))
	require.Equal(t, 1, delivered)
	require.Equal(t, 2, transient)
	require.Zero(t, marks)
}

// commitCounter counts the commits Config.Trace reports.
type commitCounter struct {
	mu sync.Mutex
	n  int
}

func (c *commitCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), `"COMMIT"`) {
		c.n++
	}
	return len(p), nil
}

func (c *commitCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestDispatchCommitsOnceABatch: a batch's in-flight marks are committed
// with the previous batch's results, so between two provider calls there
// is one commit, not two, and every earlier batch's results are written at
// each call; the last batch's results are written before the run returns.
func TestDispatchCommitsOnceABatch(t *testing.T) {
	t.Parallel()
	commits := &commitCounter{}
	var (
		e       *env
		atCall  []int
		written []int
	)
	p := &probe{recorder: recorder{name: channels.Email}}
	p.look = func([]channels.Message) {
		var n int
		require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_results`).Scan(&n))
		atCall = append(atCall, commits.count())
		written = append(written, n)
	}
	e = newEnv(t, withEmail(p), func(c *Config) { c.BatchSize = 4; c.Trace = commits })
	ids := e.crowd(10, "UTC")
	e.publish(oneEmail)
	enterAll(t, e, "once", ids)
	res := e.run()
	require.Equal(t, 10, res.Sent)
	require.Equal(t, []int{0, 4, 8}, written)
	require.Len(t, atCall, 3)
	require.Equal(t, []int{1, 1}, []int{atCall[1] - atCall[0], atCall[2] - atCall[1]}, "one commit between provider calls")
	var results, marks int
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_results`).Scan(&results))
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_inflight`).Scan(&marks))
	require.Equal(t, 10, results)
	require.Zero(t, marks)
}

// TestHardBounceIsAppliedBeforeTheNextBatch: results that say something
// about an address are written and applied before the next batch goes
// through the gate: the second message to a hard-bounced address is
// skipped as suppressed, never handed to the provider.
func TestHardBounceIsAppliedBeforeTheNextBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.BatchSize = 1 })
	var mu sync.Mutex
	var tried []string
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		mu.Lock()
		defer mu.Unlock()
		tried = append(tried, m.Journey)
		r := channels.Permanent("smtp:550", errors.New("no such user"))
		r.Suppress = true
		return &r
	}
	ids := e.crowd(1, "UTC")
	for _, name := range []string{"first", "second"} {
		e.publish(strings.Replace(oneEmail, "name: once", "name: "+name, 1))
		enterAll(t, e, name, ids)
	}
	res := e.run()
	require.Equal(t, []string{"first"}, tried)
	require.Equal(t, 1, res.Failed)
	require.Equal(t, 1, res.Skipped)
	require.Equal(t, 1, e.logCount("second", "hello", "skipped", ReasonSuppressed))
}

func TestIDRuns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ids  []int64
		want string
	}{
		{nil, "false"},
		{[]int64{7}, "x BETWEEN 7 AND 7"},
		{[]int64{1, 2, 3, 4}, "x BETWEEN 1 AND 4"},
		{[]int64{1, 2, 4, 5, 9}, "x BETWEEN 1 AND 2 OR x BETWEEN 4 AND 5 OR x BETWEEN 9 AND 9"},
		{[]int64{5, 4, 6}, "x BETWEEN 5 AND 5 OR x BETWEEN 4 AND 4 OR x BETWEEN 6 AND 6"},
	} {
		require.Equal(t, c.want, idRuns("x", c.ids), "%v", c.ids)
	}
}

// TestClearInflightByRunsMatchesTheIDList: clearing a batch's marks by
// ranges deletes exactly the marks an IN list of its ids deletes, on the
// same marks, whatever the gaps.
func TestClearInflightByRunsMatchesTheIDList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := e.store.DB()
	for _, batch := range [][]int64{{1, 2, 3}, {2, 4, 6, 7, 8, 20}, {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, {25}} {
		remaining := func(clear string) []int64 {
			_, err := db.ExecContext(e.ctx, `DELETE FROM journey_inflight`)
			require.NoError(t, err)
			_, err = db.ExecContext(e.ctx, `INSERT INTO journey_inflight SELECT i, ?::TIMESTAMP FROM range(0, 22) t(i)`, t0)
			require.NoError(t, err)
			_, err = db.ExecContext(e.ctx, clear)
			require.NoError(t, err)
			ids, err := dbtx.QueryColumn[int64](e.ctx, db, `SELECT outbox_id FROM journey_inflight ORDER BY outbox_id`)
			require.NoError(t, err)
			return ids
		}
		want := remaining("DELETE FROM journey_inflight WHERE outbox_id IN (" + intList(batch) + ")")
		require.Equal(t, want, remaining(fmt.Sprintf(q("clear_inflight"), idRuns("outbox_id", batch))), "%v", batch)
	}
}
