package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tactcdp/tact/engine"
)

// StreamImporter is what an ingest node writes through instead of the
// database (cluster.Publisher): every import and group commit is published
// to the events stream and returns once the stream acknowledged it.
type StreamImporter interface {
	Importer
	UntrustedImporter
	Ingester
}

// NewIngestNode builds the HTTP server of a cluster ingest node (tact serve
// --role ingest, docs/scale-out.md). It serves the tracking API (/v1/*),
// validated exactly as the single process validates it (write keys and
// their trust, timestamps, payload rules), with every request's rows
// published through publisher and answered 200 only after the stream
// acknowledged all of them, 503 otherwise; plus /healthz, /readyz and
// /metrics. Nothing else: the admin API, console and preference centre live
// on the engine.
//
// opts.Store lends only its validation rules (identifier normalisation with
// the configured default region, the event-time window): give an in-memory
// store opened with the cluster's engine configuration. ready reports
// whether the stream can take writes now.
func NewIngestNode(opts Options, publisher StreamImporter, ready func(context.Context) error) (*Server, error) {
	if publisher == nil || ready == nil {
		return nil, errors.New("server: an ingest node needs a publisher and a readiness check")
	}
	opts.Importer = unavailableOnError{publisher}
	opts.Scheduler, opts.Watcher = nil, nil
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	full := s.handler
	mux := http.NewServeMux()
	mux.Handle("/v1/", full)
	mux.Handle("GET /healthz", full)
	mux.Handle("GET /metrics", full)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { s.handleIngestReady(w, r, ready) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errf(http.StatusNotFound, "not_found", "", "no such endpoint on an ingest node: %s %s (the admin API, console and preference centre are served by the engine)", r.Method, r.URL.Path))
	})
	s.handler = mux
	return s, nil
}

// handleIngestReady is /readyz of an ingest node: ready while the events
// stream answers.
func (s *Server) handleIngestReady(w http.ResponseWriter, r *http.Request, ready func(context.Context) error) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting_down", "role": "ingest"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ready", "role": "ingest", "queue_depth": s.ingest.queued.Load()}
	if err := ready(ctx); err != nil {
		body["status"] = "stream_unavailable"
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// unavailableOnError answers 503 for any failure to publish: the rows were
// valid, the stream did not take them, and a retry with the same message
// ids is safe (the stream de-duplicates them).
type unavailableOnError struct{ p StreamImporter }

func (u unavailableOnError) ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error) {
	res, err := u.p.ImportRows(ctx, kind, label, rows)
	return res, streamErr(err)
}

func (u unavailableOnError) ImportRowsUntrusted(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error) {
	res, err := u.p.ImportRowsUntrusted(ctx, kind, label, rows)
	return res, streamErr(err)
}

func (u unavailableOnError) Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error) {
	res, err := u.p.Ingest(ctx, b)
	return res, streamErr(err)
}

func streamErr(err error) error {
	var ie *engine.ImportError
	if err == nil || errors.As(err, &ie) {
		return err
	}
	return errf(http.StatusServiceUnavailable, "stream_unavailable", "",
		"the event stream did not acknowledge every message; retry the request with the same messageIds")
}
