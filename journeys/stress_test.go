package journeys

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestCrashStress (TACT_STRESS=1) kills the child 25 times at 50–750 ms
// and checks that no table holds a duplicated row afterwards.
func TestCrashStress(t *testing.T) {
	if os.Getenv("TACT_STRESS") == "" {
		t.Skip()
	}
	const people = 12000
	sink := startSink(t, false)
	dbPath := filepath.Join(t.TempDir(), "crash.duckdb")
	ctx := context.Background()
	st, err := engine.Open(ctx, dbPath, engine.Options{})
	require.NoError(t, err)
	require.NoError(t, seedPeople(ctx, st, people, time.Now().Add(-time.Hour)))
	r, err := New(st, Config{})
	require.NoError(t, err)
	_, err = r.Publish(ctx, "crash.yaml", []byte(crashJourney))
	require.NoError(t, err)
	var entries []APIEntry
	for i := 1; i <= people; i++ {
		entries = append(entries, APIEntry{ProfileID: int64(i)})
	}
	_, err = r.Trigger(ctx, "crash", entries)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for kills := 0; ; kills++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TACT_CRASH_CHILD=1", "TACT_CRASH_DB="+dbPath, "TACT_CRASH_SINK="+sink.addr)
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kills < 25 {
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(time.Duration(50+rng.IntN(700)) * time.Millisecond):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				continue
			}
		} else {
			require.NoError(t, <-done)
		}
		break
	}
	st, err = engine.Open(ctx, dbPath, engine.Options{})
	require.NoError(t, err)
	defer st.Close()
	for _, q := range []string{
		`SELECT count(*) - count(DISTINCT idem_key) FROM journey_outbox`,
		`SELECT count(*) - count(DISTINCT id) FROM journey_outbox`,
		`SELECT count(*) - count(DISTINCT (outbox_id, attempt)) FROM journey_results`,
		`SELECT count(*) - count(DISTINCT (instance_id, step, kind)) FROM journey_log`,
	} {
		var n int
		require.NoError(t, st.DB().QueryRow(q).Scan(&n))
		require.Zero(t, n, q)
	}
	u, d := sink.stats()
	require.Equal(t, 2*people, u)
	t.Logf("25 kills: %d messages, %d duplicates offered", u, d)
}
