package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ServeNATSNode serves the HTTP side of a cluster nats node (tact serve
// --role nats): /healthz, /readyz (status: ready and its report) and
// /metrics from reg, until ctx ends.
func ServeNATSNode(ctx context.Context, ln net.Listener, status func() (ready bool, report any), reg *prometheus.Registry, log *slog.Logger) error {
	return ServeClusterNode(ctx, ln, "nats", status, reg, log)
}

// ServeClusterNode serves the HTTP side of a cluster node without the API
// (the nats and sender roles): /healthz, /readyz (role, status ready or
// <role>_not_ready with 503, and the role's report under its name) and
// /metrics from reg, until ctx ends.
func ServeClusterNode(ctx context.Context, ln net.Listener, role string, status func() (ready bool, report any), reg *prometheus.Registry, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ready, report := status()
		body := map[string]any{"status": "ready", "role": role, role: report}
		code := http.StatusOK
		if !ready {
			body["status"], code = role+"_not_ready", http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
