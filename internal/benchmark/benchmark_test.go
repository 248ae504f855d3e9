package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewCaseSlowdown(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		tact, ref Side
		want      float64
	}{
		{"tact slower", newSide("t", UnitRows, 1000, 2), newSide("r", UnitRows, 1000, 0.5), 4},
		{"tact faster", newSide("t", UnitRows, 1000, 1), newSide("r", UnitRows, 1000, 2), 0.5},
		{"nothing measured", Side{}, newSide("r", UnitRows, 1000, 1), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.tact.PeakRSSMiB, tc.ref.PeakRSSMiB = 12.34, 5.67
			c := newCase(tc.name, tc.tact, tc.ref)
			require.Equal(t, tc.want, c.Slowdown)
			require.Equal(t, PeakRSS{Tact: 12.3, Reference: 5.7}, c.PeakRSS)
		})
	}
}

func TestStatusLine(t *testing.T) {
	t.Parallel()
	n := func() int64 { return 50_000 }
	half := func() float64 { return 0.5 }
	cases := []struct {
		name string
		done func() int64
		frac func() float64
		want string
	}{
		{"amount, rate and time left", n, half, "bench: x: 50k events, 5000 events/s, 10s left (10s)"},
		{"no fraction: no time left", n, nil, "bench: x: 50k events, 5000 events/s (10s)"},
		{"elapsed only", nil, nil, "bench: x (10s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, statusLine("x", "events", tc.done, tc.frac, 10*time.Second))
		})
	}
}

func TestProgressQuietWithoutWriter(t *testing.T) {
	t.Parallel()
	p := newProgress(nil)
	p.step("nothing %d", 1)
	p.watch("nothing", "rows", nil, nil)()

	var buf bytes.Buffer
	p = newProgress(&buf)
	p.step("import: %s", "a.csv")
	p.watch("generating", "bytes", func() int64 { return 3 }, nil)()
	require.Equal(t, "bench: import: a.csv\n", strings.SplitAfter(buf.String(), "\n")[0])
	require.Contains(t, buf.String(), "\rbench: generating: 3 bytes")
	require.True(t, strings.HasSuffix(buf.String(), "\n"), "the redrawn line ends when the phase does")
}

func TestQueriesParse(t *testing.T) {
	t.Parallel()
	q := queries()
	for _, name := range []string{"duckdb_settings", "outbox_create", "outbox_next", "outbox_done"} {
		require.NotEmpty(t, q[name], name)
	}
}

func TestChildRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.ErrorContains(t, Child(context.Background(), `{"name":"frobnicate"}`, &out), `unknown task "frobnicate"`)
	require.ErrorContains(t, Child(context.Background(), `{"name":`, &out), EnvSpec)
	require.Empty(t, out.String())
}

// TestImportSidesInProcess runs both import tasks on one small file: the
// same rows counted, the reference with Tact's DuckDB settings.
func TestImportSidesInProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	csv := filepath.Join(dir, "p.csv")
	require.NoError(t, os.WriteFile(csv, []byte("user_id,email,age\nu1,a@example.com,30\nu2,b@example.com,41\n"), 0o600))
	tact, err := importTact(ctx, task{Kind: "profiles", File: csv, DB: filepath.Join(dir, "t.duckdb"), Rows: 2})
	require.NoError(t, err)
	ts := tact.Sides[sideResult]
	require.Equal(t, int64(2), ts.Work)
	require.NotEmpty(t, ts.MemoryLimit)
	ref, err := importReference(ctx, task{File: csv, DB: filepath.Join(dir, "r.duckdb"), Rows: 2, MemoryLimit: "1GiB", Threads: 1})
	require.NoError(t, err)
	rs := ref.Sides[sideResult]
	require.Equal(t, int64(2), rs.Work)
	require.Positive(t, rs.Rate)
	require.Equal(t, int64(1), rs.Threads)
	require.Contains(t, rs.MemoryLimit, "GiB")
	_, err = importReference(ctx, task{File: filepath.Join(dir, "p.txt")})
	require.ErrorContains(t, err, "no DuckDB reader")
}

func TestSendReferenceInProcess(t *testing.T) {
	t.Parallel()
	out, err := sendReference(context.Background(), task{DB: filepath.Join(t.TempDir(), "o.duckdb"), People: 2500})
	require.NoError(t, err)
	s := out.Sides[sideResult]
	require.Equal(t, int64(2500), s.Work, "every row read back and marked done, across several batches")
	require.Positive(t, s.AllocsPerMsg)
}

// TestIngestReferenceServer: the reference answers a batch only once its
// body is in the file, and refuses a malformed one.
func TestIngestReferenceServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := freeAddr()
	require.NoError(t, err)
	log := filepath.Join(t.TempDir(), "log")
	done := make(chan error, 1)
	go func() { _, err := ingestReferenceServer(ctx, task{Addr: addr, Out: log}); done <- err }()
	l := load{url: "http://" + addr + "/v1/batch", clients: 2, duration: time.Minute, requests: 3, userIDs: []string{"u1", "u2"}, prefix: "t"}
	var sent atomic.Int64
	require.Eventually(t, func() bool { // listening, and a body without events is refused
		_, err := l.post(ctx, http.DefaultClient, []byte("{}"))
		var se *StatusError
		return errors.As(err, &se) && se.Status == http.StatusBadRequest
	}, time.Minute, 10*time.Millisecond)
	res, err := l.run(ctx, &sent)
	require.NoError(t, err)
	require.Equal(t, int64(3), res.requests)
	require.Equal(t, int64(300), sent.Load())
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(string(b), "\n"))
	require.Equal(t, 300, strings.Count(string(b), `"messageId":"t-`))
	cancel()
	require.NoError(t, <-done)
}

func TestReadUserIDs(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "c.csv")
	require.NoError(t, os.WriteFile(p, []byte("user_id,email\nu1,a\n,b\n\"q,x\",c\nu2,d\nu3,e\n"), 0o600))
	ids, err := readUserIDs(p, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"u1", "u2"}, ids)
	require.NoError(t, os.WriteFile(p, []byte("user_id,email\n"), 0o600))
	_, err = readUserIDs(p, 2)
	require.ErrorContains(t, err, "no user ids")
}

// TestSendPrepareDataPredatesTheRun: the send leg's people, consents and
// entries are stamped a minute before the run, so the measured send step
// never finds them freshly changed (the gate would re-decide them all),
// however soon after the prepare it starts.
func TestSendPrepareDataPredatesTheRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "prepared.duckdb")
	_, err := sendPrepare(ctx, task{Name: taskSendPrepare, Dir: dir, DB: db, People: 5})
	require.NoError(t, err)
	conn, err := openDuckDB(db)
	require.NoError(t, err)
	defer conn.Close()
	var profiles, ledger, entered time.Time
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT max(updated_at) FROM profiles`).Scan(&profiles))
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT max(recorded_at) FROM consent_ledger`).Scan(&ledger))
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT max(entered_at) FROM journey_instances`).Scan(&entered))
	limit := time.Now().Add(-sendDataAge / 2)
	for name, at := range map[string]time.Time{"profiles": profiles, "consents": ledger, "entries": entered} {
		require.True(t, at.Before(limit), "%s stamped %s, want before %s", name, at, limit)
	}
}

func TestReadAnonymousIDs(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "w.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(`{"anonymous_id":"a-1","event":"x"}
{"anonymous_id":"a-1","event":"y"}
{"user_id":"u1","event":"x"}
{"anonymous_id":"a-\"q","event":"x"}
{"anonymous_id":"a-2","event":"x"}
{"anonymous_id":"a-3","event":"x"}
`), 0o600))
	ids, err := readAnonymousIDs(p, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"a-1", "a-2"}, ids)
	require.NoError(t, os.WriteFile(p, []byte(`{"user_id":"u1"}`+"\n"), 0o600))
	_, err = readAnonymousIDs(p, 2)
	require.ErrorContains(t, err, "no anonymous ids")
}

// TestLoadMixesVisitors: with anonymous ids, every other event is a known
// visitor's (anonymousId, no userId); without, every event has a userId.
func TestLoadMixesVisitors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		anons      []string
		users, ano int
	}{{nil, eventsPerRequest, 0}, {[]string{"a-1", "a-2"}, eventsPerRequest / 2, eventsPerRequest / 2}} {
		l := load{userIDs: []string{"u1", "u2"}, anonymousIDs: c.anons, prefix: "t"}
		var body struct {
			Batch []struct {
				UserID      string `json:"userId"`
				AnonymousID string `json:"anonymousId"`
			} `json:"batch"`
		}
		require.NoError(t, json.Unmarshal(l.body(nil, 3, now), &body))
		users, anons := 0, 0
		for _, e := range body.Batch {
			require.True(t, (e.UserID == "") != (e.AnonymousID == ""), "one identifier per event")
			if e.UserID != "" {
				users++
			} else {
				anons++
			}
		}
		require.Equal(t, []int{c.users, c.ano}, []int{users, anons})
	}
}

// TestLoadBringsNewVisitors: with newEvery, that share of the events come
// from anonymous ids no other event of the run uses, and the ids are not
// ordered like the events (they spread over the range of values).
func TestLoadBringsNewVisitors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	l := load{userIDs: []string{"u1", "u2"}, newEvery: 10, prefix: "t"}
	seen := map[string]bool{}
	var ids []string
	for req := int64(0); req < 20; req++ {
		var body struct {
			Batch []struct {
				UserID      string `json:"userId"`
				AnonymousID string `json:"anonymousId"`
			} `json:"batch"`
		}
		require.NoError(t, json.Unmarshal(l.body(nil, req, now), &body))
		news := 0
		for _, e := range body.Batch {
			require.True(t, (e.UserID == "") != (e.AnonymousID == ""), "one identifier per event")
			if e.AnonymousID != "" {
				require.False(t, seen[e.AnonymousID], "a new visitor is new once: %s", e.AnonymousID)
				require.Regexp(t, `^t-[0-9a-f]{16}$`, e.AnonymousID)
				seen[e.AnonymousID] = true
				ids = append(ids, e.AnonymousID)
				news++
			}
		}
		require.Equal(t, eventsPerRequest/10, news)
	}
	require.False(t, sort.StringsAreSorted(ids), "ids in event order are not in value order")
}
