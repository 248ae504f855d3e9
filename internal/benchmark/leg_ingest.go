package benchmark

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tactcdp/tact/engine/sample"
)

// ingestWriteKey is the write key the bench's tact serve accepts.
const ingestWriteKey = "bench-write-key"

// maxUserIDs bounds the known user ids the clients cycle through.
const maxUserIDs = 10_000

// ingestConfig turns rate limiting off: the bench measures throughput,
// not the limiter.
const ingestConfig = "server:\n  rate_limit:\n    disabled: true\n"

// ingestLeg measures `tact serve`'s /v1/batch on a database holding the
// sample's profiles and web events against a Go handler that appends each
// body to a file and fsyncs, at each client count.
func (r *runner) ingestLeg(ctx context.Context) (Leg, error) {
	leg := Leg{Leg: LegIngest}
	_, sampleDir, err := r.sample()
	if err != nil {
		return leg, err
	}
	db := r.scratch("ingest", "tact.duckdb")
	dir := filepath.Dir(db)
	defer removeDB(db)
	stop := r.p.watch("ingest: importing the sample's profiles and web events (not timed)", "", nil, nil)
	_, err = r.l.run(ctx, task{Name: taskIngestPrepare, Dir: sampleDir, DB: db})
	stop()
	if err != nil {
		return leg, err
	}
	users, err := readUserIDs(filepath.Join(sampleDir, sample.FileCRMProfiles), maxUserIDs)
	if err != nil {
		return leg, err
	}
	cfg := filepath.Join(dir, "tact.yaml")
	if err := os.WriteFile(cfg, []byte(ingestConfig), 0o600); err != nil {
		return leg, err
	}
	anons, err := readAnonymousIDs(filepath.Join(sampleDir, sample.FileWebEvents), maxUserIDs)
	if err != nil {
		return leg, err
	}
	type ingestCase struct {
		name string
		l    load
	}
	var cases []ingestCase
	for _, clients := range r.o.IngestClients {
		name := fmt.Sprintf("/v1/batch, %d clients × %d events per request", clients, eventsPerRequest)
		cases = append(cases, ingestCase{name, load{writeKey: ingestWriteKey, clients: clients, duration: r.o.IngestDuration, requests: r.o.IngestRequests, userIDs: users}})
	}
	// Half the events from known visitors by their anonymous id: a batch
	// that mixes kinds of identifier costs the identities lookup more
	// (docs/architecture.md, "How HTTP ingestion commits").
	clients := r.o.IngestClients[0]
	cases = append(cases, ingestCase{fmt.Sprintf("/v1/batch, %d clients × %d events per request, half from anonymous visitors", clients, eventsPerRequest),
		load{writeKey: ingestWriteKey, clients: clients, duration: r.o.IngestDuration, requests: r.o.IngestRequests, userIDs: users, anonymousIDs: anons}})
	// One event in ten from a new visitor: every group resolves someone
	// (docs/benchmarks.md, "Events stored before, measured").
	cases = append(cases, ingestCase{fmt.Sprintf("/v1/batch, %d clients × %d events per request, one in ten from a new visitor", clients, eventsPerRequest),
		load{writeKey: ingestWriteKey, clients: clients, duration: r.o.IngestDuration, requests: r.o.IngestRequests, userIDs: users, newEvery: 10}})
	for _, c := range cases {
		name, l := c.name, c.l
		// The load starts once the server says it is ready, as a load
		// balancer's would: after the warm-up of its message ids' index.
		lt := l
		lt.ready = "/readyz"
		tact, err := r.measureServer(ctx, label("ingest", name, "tact"), lt, "tact serve /v1/batch (group commit into DuckDB)", func(addr string) *exec.Cmd {
			cmd := r.l.command(ctx, []string{"--db", db, "--config", cfg, "serve", "--addr", addr, "--out", filepath.Join(dir, "outbox")},
				"TACT_WRITE_KEY="+ingestWriteKey)
			cmd.Dir = dir // no templates directory: sends wait in the outbox
			return cmd
		})
		if err != nil {
			return leg, err
		}
		log := filepath.Join(dir, "reference.log")
		ref, err := r.measureServer(ctx, label("ingest", name, "reference"), l, "Go handler: decode, append the body to a file, fsync, answer", func(addr string) *exec.Cmd {
			spec, _ := json.Marshal(task{Name: taskIngestRef, Addr: addr, Out: log})
			return r.l.command(ctx, []string{"bench"}, EnvSpec+"="+string(spec))
		})
		_ = os.Remove(log)
		if err != nil {
			return leg, err
		}
		leg.Cases = append(leg.Cases, newCase(name, tact, ref))
	}
	return leg, nil
}

// measureServer starts the server child built by cmd, runs the load
// against it and stops it.
func (r *runner) measureServer(ctx context.Context, name string, l load, what string, cmd func(addr string) *exec.Cmd) (Side, error) {
	r.p.step("%s: starting the server", name)
	srv, addr, err := startOnFreeAddr(cmd)
	if err != nil {
		return Side{}, err
	}
	if l.ready != "" {
		if err := waitReady(ctx, "http://"+addr+l.ready); err != nil {
			srv.kill()
			return Side{}, &ChildError{Task: "server", Err: err, Stderr: srv.stderr.String()}
		}
	}
	l.url = "http://" + addr + "/v1/batch"
	l.prefix = fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var events atomic.Int64
	start := time.Now()
	stop := r.p.watch(name, "events", events.Load, func() float64 {
		f := time.Since(start).Seconds() / l.duration.Seconds()
		if l.requests > 0 {
			f = max(f, float64(events.Load())/float64(l.requests*eventsPerRequest))
		}
		return f
	})
	res, err := l.run(ctx, &events)
	stop()
	rss, stopErr := srv.stop(ctx)
	if err != nil {
		return Side{}, err
	}
	if stopErr != nil {
		return Side{}, stopErr
	}
	s := newSide(what, UnitEvents, res.requests*eventsPerRequest, res.elapsed.Seconds())
	s.P50Millis, s.P99Millis = round(res.p50.Seconds()*1000, 2), round(res.p99.Seconds()*1000, 2)
	s.PeakRSSMiB = rss
	return s, nil
}

// readAnonymousIDs reads up to limit distinct anonymous ids from the
// sample's web events (JSONL, one event a line).
func readAnonymousIDs(path string, limit int) ([]string, error) {
	return readIDs(path, limit, "anonymous ids", func(_ int, text string) string {
		_, rest, ok := strings.Cut(text, `"anonymous_id":"`)
		if !ok {
			return ""
		}
		id, _, ok := strings.Cut(rest, `"`)
		if !ok || strings.Contains(id, `\`) {
			return ""
		}
		return id
	})
}

// readUserIDs reads up to limit distinct user ids from the first column of
// the sample's profiles CSV.
func readUserIDs(path string, limit int) ([]string, error) {
	return readIDs(path, limit, "user ids", func(line int, text string) string {
		if line == 0 {
			return "" // header
		}
		if id, _, _ := strings.Cut(text, ","); !strings.ContainsAny(id, `"\`) {
			return id
		}
		return ""
	})
}

// readIDs reads up to limit distinct ids from the lines of path, idOf
// giving each line's id ("" for none); what names them in the error when
// the file has none.
func readIDs(path string, limit int, what string, idOf func(line int, text string) string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	var ids []string
	for line := 0; sc.Scan() && len(ids) < limit; line++ {
		if id := idOf(line, sc.Text()); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no %s", path, what)
	}
	return ids, nil
}
