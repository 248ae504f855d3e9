package journeys

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
)

// TestMain re-executes this test binary as the crash test's child process
// when TACT_CRASH_CHILD is set.
func TestMain(m *testing.M) {
	if os.Getenv("TACT_CRASH_CHILD") == "1" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The crash child's email channel: crashPool SMTP connections working
// through channel batches of crashPool×crashPerConn messages. Dispatch has
// one batch at the provider at a time, so that is the most a kill may
// leave in flight, and the most it may duplicate.
const (
	crashPool        = 4
	crashPerConn     = 50
	crashMaxInFlight = crashPool * crashPerConn
)

// crashChild runs the journeys in TACT_CRASH_DB until idle, sending to the
// SMTP sink at TACT_CRASH_SINK.
func crashChild() error {
	ctx := context.Background()
	start := time.Now()
	st, err := engine.Open(ctx, os.Getenv("TACT_CRASH_DB"), engine.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if os.Getenv("TACT_JOURNEYS_TRACE") != "" { // the crash child's own timing, for debugging
		fmt.Fprintf(os.Stderr, "child: open took %s\n", time.Since(start))
		defer func() { fmt.Fprintf(os.Stderr, "child: done after %s\n", time.Since(start)) }()
	}
	var r *Runner
	ch, err := buildSMTP(os.Getenv("TACT_CRASH_SINK"), channels.GateFunc(func(ctx context.Context, c string, m channels.Message) (string, error) {
		return r.Gate().Check(ctx, c, m)
	}), crashPool)
	if err != nil {
		return err
	}
	defer ch.Close()
	r, err = New(st, Config{Channels: []channels.Channel{ch}, BatchSize: crashMaxInFlight})
	if err != nil {
		return err
	}
	res, err := r.RunUntilIdle(ctx, "")
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("journey errors: %v", res.Errors)
	}
	return nil
}

const crashJourney = `
name: crash
purpose: marketing
entry: api
steps:
  - id: first
    send: {channel: email, template: welcome}
  - id: second
    send: {channel: email, template: followup}
`

// TestCrashResume kills a real child process with SIGKILL at random moments
// while it sends tens of thousands of messages to a loopback SMTP sink that
// de-duplicates by idempotency key, restarts it until it finishes, and
// checks every due message arrived and has a result, and that each kill
// made the sink receive at most the messages in flight twice (what a
// provider ignoring idempotency keys would deliver twice). The duplicates
// a kill causes are offered by the runs after it, before the next kill.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real processes")
	}
	const people = 12000
	began := time.Now()
	sink := startSink(t, false)
	dbPath := filepath.Join(t.TempDir(), "crash.duckdb")
	ctx := context.Background()
	st, err := engine.Open(ctx, dbPath, engine.Options{})
	require.NoError(t, err)
	// Profiles and consents loaded with SQL, an hour before the sends
	// (journeys, not imports, are under test here).
	require.NoError(t, seedPeople(ctx, st, people, time.Now().Add(-time.Hour)))
	r, err := New(st, Config{})
	require.NoError(t, err)
	_, err = r.Publish(ctx, "crash.yaml", []byte(crashJourney))
	require.NoError(t, err)
	rows, err := st.DB().QueryContext(ctx, `SELECT id FROM profiles ORDER BY id`)
	require.NoError(t, err)
	var entries []APIEntry
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		entries = append(entries, APIEntry{ProfileID: id})
	}
	rows.Close()
	n, err := r.Trigger(ctx, "crash", entries)
	require.NoError(t, err)
	require.Equal(t, people, n)
	require.NoError(t, st.Close())

	t.Logf("setup took %s", time.Since(began))
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	dupsBefore := 0 // duplicates offered up to the previous kill
	perKill := []int{}
	deadline := time.Now().Add(60 * time.Second)
	for run := 0; ; run++ {
		require.True(t, time.Now().Before(deadline), "child did not finish in time")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TACT_CRASH_CHILD=1", "TACT_CRASH_DB="+dbPath, "TACT_CRASH_SINK="+sink.addr)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kills < 6 {
			// Kill while the child is sending: at a random moment after the
			// sink received a new message from it (a fixed delay would
			// often fall before the first send on a loaded machine).
			if err, exited := awaitSending(sink, done); exited {
				require.NoError(t, err)
				goto finished
			}
			select {
			case err := <-done:
				require.NoError(t, err)
				goto finished
			case <-time.After(time.Duration(rng.IntN(800)) * time.Millisecond):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				u, d := sink.stats()
				t.Logf("kill %d: %d unique messages so far, %d duplicates offered", kills, u, d)
				if kills > 1 {
					perKill = append(perKill, d-dupsBefore)
				}
				dupsBefore = d
				continue
			}
		}
		require.NoError(t, <-done)
		break
	}
finished:
	t.Logf("children done after %s", time.Since(began))
	unique, dups := sink.stats()
	perKill = append(perKill, dups-dupsBefore)
	t.Logf("crash test: %d kills, %d messages, %d unique keys at the sink, %d duplicates offered, per kill %v (at most %d in flight)",
		kills, 2*people, unique, dups, perKill, crashMaxInFlight)
	require.Equal(t, 2*people, unique, "every due message arrived")
	for k, d := range perKill {
		require.LessOrEqual(t, d, crashMaxInFlight, "kill %d duplicated more than was in flight (%d connections × %d)", k+1, crashPool, crashPerConn)
	}
	st, err = engine.Open(ctx, dbPath, engine.Options{})
	require.NoError(t, err)
	defer st.Close()
	rows, err = st.DB().QueryContext(ctx, `SELECT idem_key, count(*), list(created_at ORDER BY created_at), list(instance_id), list(step) FROM journey_outbox GROUP BY 1 HAVING count(*) > 1 LIMIT 3`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		var n int
		var a, b, c any
		require.NoError(t, rows.Scan(&k, &n, &a, &b, &c))
		t.Logf("duplicate outbox key %s: %d rows %v %v %v", k, n, a, b, c)
	}
	rows.Close()
	var delivered, other int
	require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT count(DISTINCT o.idem_key) FILTER (WHERE l.status = 'delivered'), count(DISTINCT o.idem_key) FILTER (WHERE l.status IS DISTINCT FROM 'delivered')
FROM journey_outbox o LEFT JOIN (SELECT outbox_id, arg_max(status, attempt) AS status FROM journey_results GROUP BY outbox_id) l ON l.outbox_id = o.id`).Scan(&delivered, &other))
	require.Equal(t, 2*people, delivered)
	require.Zero(t, other)
	// Every key the sink saw is a key of the outbox.
	keys := sink.keys()
	rows, err = st.DB().QueryContext(ctx, `SELECT idem_key FROM journey_outbox`)
	require.NoError(t, err)
	missing := 0
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		if keys[k] == 0 {
			missing++
		}
	}
	require.Zero(t, missing)
	rows.Close()
	require.Greater(t, kills, 0)
	// Nothing is left in flight, and every duplicate the sink saw was a
	// send the stats count as resent after a crash.
	var marks int
	require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT count(*) FROM journey_inflight`).Scan(&marks))
	require.Zero(t, marks)
	r, err = New(st, Config{})
	require.NoError(t, err)
	stats, err := r.Stats(ctx, "crash")
	require.NoError(t, err)
	var resent int64
	for _, s := range stats.Steps {
		resent += s.Resent
	}
	t.Logf("stats: %d sends resent after a crash", resent)
	require.LessOrEqual(t, int64(dups), resent)
}

// awaitSending waits until the sink holds a message it did not hold when
// called, or the child exits (exited, with its error).
func awaitSending(sink *smtpSink, done <-chan error) (err error, exited bool) {
	before, _ := sink.stats()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-done:
			return err, true
		case <-poll.C:
			if now, _ := sink.stats(); now > before {
				return nil, false
			}
		}
	}
}
