package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type ctxKey int

const principalKey ctxKey = iota

// caller is the principal of an admin request.
func caller(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey).(principal)
	return p
}

// actor names the caller in the ledger and audit log.
func actor(r *http.Request) string { return "api:" + caller(r).name }

// bearer returns the bearer token of r, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) lookupToken(tok string) (principal, bool) {
	var found principal
	ok := 0
	for _, p := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(p.token)) == 1 {
			found, ok = p, 1
		}
	}
	return found, ok == 1
}

// authorize wraps an admin handler: a bearer token with at least role need.
// Write keys are refused here: they only ingest.
func (s *Server) authorize(need Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tact"`)
			s.writeError(w, r, errf(http.StatusUnauthorized, "unauthorized", "", "a bearer token is required"))
			return
		}
		p, ok := s.lookupToken(tok)
		if !ok {
			if s.validWriteKey(tok) {
				s.writeError(w, r, errf(http.StatusForbidden, "forbidden", "", "a write key can only send events to /v1/*; this endpoint needs a %s token", need))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="tact", error="invalid_token"`)
			s.writeError(w, r, errf(http.StatusUnauthorized, "unauthorized", "", "invalid token"))
			return
		}
		if !p.role.allows(need) {
			s.writeError(w, r, errf(http.StatusForbidden, "forbidden", "", "this endpoint needs a %s token; yours is %s", need, p.role))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.adminLimit)
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	}
}

// instrument records route metrics and sets safe default headers.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, statusClass(rec.status)).Inc()
		s.metrics.requestDur.WithLabelValues(route).Observe(time.Since(start).Seconds())
		s.log.Debug("http", "method", r.Method, "route", route, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

// adminRoute is one admin endpoint and the role it needs (listed for the
// authorization tests).
type adminRoute struct {
	pattern string
	role    Role
	h       http.HandlerFunc
}

func (s *Server) adminRoutes() []adminRoute {
	return []adminRoute{
		{"GET /api/v1/profiles", RoleRead, s.handleProfileSearch},
		{"GET /api/v1/profiles/{id}", RoleRead, s.handleProfileShow},
		{"GET /api/v1/profiles/{id}/consent", RoleRead, s.handleConsentShow},
		{"GET /api/v1/profiles/{id}/consent/history", RoleRead, s.handleConsentHistory},
		{"POST /api/v1/consents", RoleAdmin, s.handleConsentSet},
		{"POST /api/v1/segments/check", RoleRead, s.handleSegmentCheck},
		{"POST /api/v1/segments/count", RoleRead, s.handleSegmentCount},
		{"POST /api/v1/segments/members", RoleMarketer, s.handleSegmentMembers},
		{"GET /api/v1/segments", RoleRead, s.handleSegmentList},
		{"POST /api/v1/segments", RoleMarketer, s.handleSegmentSave},
		{"DELETE /api/v1/segments/{name}", RoleMarketer, s.handleSegmentDelete},
		{"GET /api/v1/journeys", RoleRead, s.handleJourneyList},
		{"POST /api/v1/journeys/validate", RoleMarketer, s.handleJourneyValidate},
		{"POST /api/v1/journeys", RoleMarketer, s.handleJourneyPublish},
		{"POST /api/v1/journeys/{name}/pause", RoleMarketer, s.handleJourneyPause},
		{"POST /api/v1/journeys/{name}/resume", RoleMarketer, s.handleJourneyResume},
		{"GET /api/v1/journeys/{name}/stats", RoleRead, s.handleJourneyStats},
		{"GET /api/v1/journeys/{name}/failures", RoleRead, s.handleJourneyFailures},
		{"POST /api/v1/journeys/{name}/trigger", RoleMarketer, s.handleJourneyTrigger},
		{"POST /api/v1/privacy/{op}", RoleAdmin, s.handlePrivacy},
		{"GET /api/v1/privacy/requests", RoleAdmin, s.handleRequestsList},
		{"POST /api/v1/privacy/requests", RoleAdmin, s.handleRequestOpen},
		{"POST /api/v1/suppressions", RoleAdmin, s.handleSuppress},
		{"POST /api/v1/suppressions/remove", RoleAdmin, s.handleUnsuppress},
		{"POST /api/v1/suppressions/check", RoleRead, s.handleSuppressCheck},
		{"POST /api/v1/links", RoleAdmin, s.handleLinks},
		{"GET /api/v1/audit", RoleAdmin, s.handleAudit},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	s.metrics.reg.MustRegister(newDroppedEvents(s.store))
	if a := s.line.adapter; a != nil {
		s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tact_line_paused", Help: "1 while the LINE channel is paused (monthly quota exhausted)."}, a.PausedGauge))
	}
	mux.Handle("GET /metrics", s.metrics.handler())

	writeKey := func(r *http.Request) string {
		if k := writeKeyOf(r); k != "" {
			return k
		}
		return "-"
	}
	// analytics.js posts to the short paths (/v1/t, /v1/i, ...), from
	// browsers: CORS is open, as write keys are public by design.
	short := map[string]string{"identify": "i", "track": "t", "page": "p", "screen": "s", "group": "g", "alias": "a", "": "b"}
	for _, typ := range []string{"identify", "track", "page", "screen", "group", "alias", ""} {
		h := cors(s.rateLimited("ingest", s.ingestIPLimit, s.keyLimit, writeKey, s.handleSegment(typ)))
		paths := []string{"/v1/" + typ, "/v1/" + short[typ]}
		if typ == "" {
			paths = []string{"/v1/batch", "/v1/import", "/v1/b"}
		}
		for _, p := range paths {
			mux.HandleFunc("POST "+p, h)
			mux.HandleFunc("OPTIONS "+p, cors(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		}
	}

	for _, ar := range s.adminRoutes() {
		mux.HandleFunc(ar.pattern, s.authorize(ar.role, ar.h))
	}

	linkTok := func(r *http.Request) string { return r.URL.Query().Get("token") }
	mux.HandleFunc("GET /preferences", s.rateLimited("preferences", s.ipLimit, s.tokLimit, linkTok, s.handlePrefsPage))
	mux.HandleFunc("POST /preferences", s.rateLimited("preferences", s.ipLimit, s.tokLimit, formTok, s.handlePrefsSave))
	mux.HandleFunc("POST /preferences/export/code", s.rateLimited("export_code", s.ipLimit, s.tokLimit, formTok, s.handleExportCode))
	mux.HandleFunc("POST /preferences/export", s.rateLimited("export", s.ipLimit, s.tokLimit, formTok, s.handleExportDownload))
	mux.HandleFunc("GET /unsubscribe", s.rateLimited("unsubscribe", s.ipLimit, s.tokLimit, linkTok, s.handleUnsubscribePage))
	mux.HandleFunc("POST /unsubscribe", s.rateLimited("unsubscribe", s.ipLimit, s.tokLimit, linkTok, s.handleUnsubscribePost))
	mux.Handle("GET /assets/", s.assetHandler())
	s.mountConsole(mux)

	mux.HandleFunc("POST /webhooks/twilio/sms", s.rateLimited("webhook", s.ipLimit, s.tokLimit, formAccount, s.handleTwilioInbound))
	mux.HandleFunc("POST /webhooks/twilio/status", s.rateLimited("webhook", s.ipLimit, s.tokLimit, formAccount, s.handleTwilioStatus))

	mux.HandleFunc("POST /webhooks/ses", s.rateLimited("webhook", s.ipLimit, s.tokLimit, nil, s.handleSES))
	mux.HandleFunc("POST /webhooks/ses/{key}", s.rateLimited("webhook", s.ipLimit, s.tokLimit, nil, s.handleSES))
	mux.HandleFunc("POST /webhooks/line", s.rateLimited("webhook", s.ipLimit, s.tokLimit, nil, s.handleLINE))
	mux.HandleFunc("POST /webhooks/email/report", s.rateLimited("webhook", s.ipLimit, s.tokLimit, nil, s.handleEmailReport))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errf(http.StatusNotFound, "not_found", "", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.instrument(mux)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting_down"})
		return
	}
	if !s.warm.over() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "warming_up"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.DB().PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "database_unavailable"})
		return
	}
	body := map[string]any{"status": "ready", "queue_depth": s.ingest.queued.Load()}
	if st := s.lineHealth(); st != nil {
		body["line"] = st // a paused channel holds its sends; the server is still ready
	}
	if sc := s.currentScheduler(); sc != nil {
		h := sc.Health()
		body["scheduler"] = h
		if !h.Healthy {
			// The API and ingestion still work; journeys do not all run.
			body["status"] = "scheduler_unhealthy"
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		if h.Sends.Degraded {
			// Failing sends are the providers' or the templates' trouble:
			// still ready (taking this instance out would stop ingestion),
			// but said, with the failures by reason.
			body["status"] = "degraded"
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// cors lets browsers post events from any origin (no credentials: the
// write key travels in the body or the Authorization header).
func cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Content-Encoding")
		hd.Set("Access-Control-Max-Age", "86400")
		h(w, r)
	}
}
