package cluster

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the cluster roles' metrics (docs/scale-out.md lists them).
// Register them with the registry /metrics serves.
type Metrics struct {
	published       prometheus.Counter
	publishFailures *prometheus.CounterVec
	pending         prometheus.GaugeFunc

	consumed      prometheus.Counter
	redeliveries  prometheus.Counter
	rejected      *prometheus.CounterVec
	lag           prometheus.Gauge
	position      prometheus.Gauge
	consumeErrors prometheus.Counter
	gap           prometheus.Gauge

	mu        sync.Mutex
	pendingFn func() float64
}

// NewMetrics builds the metrics, unregistered.
func NewMetrics() *Metrics {
	m := &Metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_published_total",
			Help: "Records an ingest node published to the events stream and saw acknowledged."}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_cluster_publish_failures_total",
			Help: "Ingest requests answered 503 because the stream did not acknowledge: stall (no ack within publish_timeout), error, fail_fast (refused at once right after a failure)."}, []string{"reason"}),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_consumed_total",
			Help: "Stream messages the engine committed to the database."}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_redeliveries_total",
			Help: "Stream messages delivered to the engine more than once (written once: positions and message ids)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_cluster_records_rejected_total",
			Help: "Stream records the store refused (a client write key's contact change, invalid data), by reason; acknowledged and not retried."}, []string{"reason"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_cluster_stream_lag",
			Help: "Messages in the events stream the engine has not consumed yet (its consumer's pending count)."}),
		position: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_cluster_stream_position",
			Help: "Sequence of the last events-stream message committed to the database."}),
		consumeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_consume_errors_total",
			Help: "Failed fetches or writes of the engine's consumer (retried)."}),
		gap: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_cluster_stream_gap",
			Help: "Messages after the stored position that the stream no longer held when the engine resumed (aged out or purged): the database lacks them."}),
	}
	m.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tact_cluster_publish_pending",
		Help: "Publishes an ingest node has sent and not yet seen acknowledged."}, m.pendingValue)
	m.publishFailures.WithLabelValues("stall")
	m.publishFailures.WithLabelValues("error")
	return m
}

func (m *Metrics) setPending(fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pendingFn = fn
}

func (m *Metrics) pendingValue() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pendingFn == nil {
		return 0
	}
	return m.pendingFn()
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.published, m.publishFailures, m.pending, m.consumed, m.redeliveries, m.rejected, m.lag, m.position, m.consumeErrors, m.gap} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
