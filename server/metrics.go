package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, on a registry of their own
// (several servers may live in one process, as in tests). The journey
// runner reports sends, skips and steps through the Observe methods.
type Metrics struct {
	reg *prometheus.Registry

	ingestMessages *prometheus.CounterVec
	ingestRejected *prometheus.CounterVec
	ingestFlushes  prometheus.Counter
	ingestFlushDur prometheus.Histogram
	ingestBatch    prometheus.Histogram
	queueDepth     prometheus.Gauge
	requests       *prometheus.CounterVec
	requestDur     *prometheus.HistogramVec
	rateLimited    *prometheus.CounterVec
	sends          *prometheus.CounterVec
	sendFailures   *prometheus.CounterVec
	skips          *prometheus.CounterVec
	steps          *prometheus.CounterVec
	segmentCompute *prometheus.HistogramVec
	consentChanges *prometheus.CounterVec
	schedulerTicks *prometheus.CounterVec
	feedback       *prometheus.CounterVec
}

func newMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.ingestMessages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_ingest_messages_total", Help: "Segment-spec messages accepted and durably written, by type."}, []string{"type"})
	m.ingestRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_ingest_rejected_total", Help: "Ingestion requests rejected, by reason."}, []string{"reason"})
	m.ingestFlushes = prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_ingest_flushes_total", Help: "Group commits written by the ingester."})
	m.ingestFlushDur = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tact_ingest_flush_seconds", Help: "Duration of one group commit.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	m.ingestBatch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tact_ingest_batch_messages", Help: "Messages per group commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_ingest_queue_depth", Help: "Messages accepted and waiting to be written."})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_http_requests_total", Help: "HTTP requests by route and status class."}, []string{"route", "status"})
	m.requestDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tact_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_rate_limited_total", Help: "Requests refused by rate limits, by endpoint and key kind."}, []string{"endpoint", "by"})
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_sends_total", Help: "Messages handed to providers, by channel and outcome."}, []string{"channel", "outcome"})
	m.sendFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_send_failures_total", Help: "Sends that failed for good, by reason code (journeys.FailureCode: smtp:550, render, other, ...)."}, []string{"reason"})
	m.skips = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_send_skips_total", Help: "Sends skipped or held, by channel and reason."}, []string{"channel", "reason"})
	m.steps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_journey_steps_total", Help: "Journey step executions (people advanced), by journey and step kind."}, []string{"journey", "step"})
	m.segmentCompute = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tact_segment_compute_seconds", Help: "Time to compute a segment, by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"op"})
	m.consentChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_consent_changes_total", Help: "Consent changes recorded through the server, by source and status."}, []string{"source", "status"})
	m.schedulerTicks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_scheduler_ticks_total", Help: "Journey scheduler ticks, by result."}, []string{"result"})
	m.feedback = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_feedback_total", Help: "Provider delivery feedback recorded, by channel and kind."}, []string{"channel", "kind"})
	for _, c := range []prometheus.Collector{m.feedback, m.ingestMessages, m.ingestRejected, m.ingestFlushes, m.ingestFlushDur, m.ingestBatch,
		m.queueDepth, m.requests, m.requestDur, m.rateLimited, m.sends, m.sendFailures, m.skips, m.steps, m.segmentCompute, m.consentChanges, m.schedulerTicks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Registry is the registry /metrics serves; other components may register
// their own collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveSend counts a provider call's outcome (delivered, transient,
// permanent) on a channel.
func (m *Metrics) ObserveSend(channel, outcome string, n int) {
	m.sends.WithLabelValues(channel, outcome).Add(float64(n))
}

// ObserveSkip counts sends skipped or held for a reason (consent_withdrawn,
// quiet_hours, frequency_cap, suppressed, ...).
func (m *Metrics) ObserveSkip(channel, reason string, n int) {
	m.skips.WithLabelValues(channel, reason).Add(float64(n))
}

// ObserveStep counts people advanced through a journey step kind.
func (m *Metrics) ObserveStep(journey, step string, n int) {
	m.steps.WithLabelValues(journey, step).Add(float64(n))
}

// ObserveSegmentCompute records how long a segment computation took.
func (m *Metrics) ObserveSegmentCompute(op string, d time.Duration) {
	m.segmentCompute.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// statusRecorder captures the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func statusClass(code int) string {
	switch {
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code >= 300:
		return "3xx"
	}
	return "2xx"
}
