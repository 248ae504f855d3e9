package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
)

// StreamStatus is the engine's stream consumer as /readyz reports it.
type StreamStatus interface {
	// Ready reports whether the consumer is reading the stream now.
	Ready() bool
	// Report is the consumer's state for /readyz (position, lag, error).
	Report() any
}

// RunStreamConsumer makes s a cluster engine node (tact serve --role
// engine, docs/scale-out.md): run, the stream consumer that writes the
// events stream into the store, runs until Shutdown, which stops it before
// anything else; /readyz adds the consumer's state and says "degraded"
// while it cannot read the stream (the admin API and console still work,
// so the node stays in rotation). Call it once, before serving.
func (s *Server) RunStreamConsumer(run func(context.Context) error, status StreamStatus) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := run(ctx); err != nil {
			s.log.Error("stream consumer stopped", "err", err.Error())
		}
	}()
	s.stopStream = func() { cancel(); wg.Wait() }
	base := s.handler
	mux := http.NewServeMux()
	mux.Handle("/", base)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rec := &readyAnswer{header: http.Header{}, code: http.StatusOK}
		s.handleReady(rec, r)
		body := map[string]any{}
		_ = json.Unmarshal(rec.body.Bytes(), &body)
		body["role"] = "engine"
		body["stream"] = status.Report()
		if rec.code == http.StatusOK && !status.Ready() {
			body["status"] = "degraded"
		}
		writeJSON(w, rec.code, body)
	})
	s.handler = mux
}

// StreamCommitted is told the rows the stream consumer committed: like an
// HTTP group commit, they nudge the scheduler (event entries) and reach
// the profile watcher (segment entries).
func (s *Server) StreamCommitted(profiles, events []map[string]any) {
	s.afterFlush([]*ingestItem{{profiles: profiles, events: events}})
}

// readyAnswer keeps the single process's /readyz answer so that the engine
// role can add the stream's state to it.
type readyAnswer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (a *readyAnswer) Header() http.Header         { return a.header }
func (a *readyAnswer) WriteHeader(code int)        { a.code = code }
func (a *readyAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
