package cluster

import "github.com/prometheus/client_golang/prometheus"

// SendMetrics are the send path's metrics, on the engine (published,
// results, timeouts, eligibility answers) and on the senders (provider
// outcomes, holds, redeliveries, sends answered from the results bucket).
// docs/scale-out.md lists them. Register them with the registry /metrics
// serves: RegisterEngine on the engine, RegisterSender on a sender.
type SendMetrics struct {
	published          prometheus.Counter
	resultTimeouts     prometheus.Counter
	eligibilityAnswers *prometheus.CounterVec

	sent          *prometheus.CounterVec
	held          prometheus.Counter
	redeliveries  prometheus.Counter
	alreadyDone   prometheus.Counter
	malformed     prometheus.Counter
	senderErrors  prometheus.Counter
	pendingAcks   prometheus.Gauge
	partitionsNow prometheus.Gauge
}

// NewSendMetrics builds the metrics, unregistered.
func NewSendMetrics() *SendMetrics {
	m := &SendMetrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_sends_published_total",
			Help: "Sends the engine published to the send stream and saw acknowledged."}),
		resultTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_cluster_send_result_timeouts_total",
			Help: "Sends without a result within send.result_timeout: recorded as transient and retried with the same idempotency key."}),
		eligibilityAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_cluster_eligibility_answers_total",
			Help: "Eligibility questions the engine answered, by outcome: allowed, refused, error."}, []string{"outcome"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tact_sender_results_total",
			Help: "Sends a sender finished, by result status (delivered, transient, permanent, skipped)."}, []string{"status"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_sender_held_total",
			Help: "Sends held because the engine did not answer the eligibility question (fail closed): offered again after send.hold_delay."}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_sender_redeliveries_total",
			Help: "Sends the stream offered more than once (a sender stopped, a hold, an ack lost)."}),
		alreadyDone: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_sender_answered_from_results_total",
			Help: "Sends whose final result was already in the results bucket: no provider call."}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_sender_malformed_total",
			Help: "Send stream messages that did not parse: terminated, never retried."}),
		senderErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "tact_sender_errors_total",
			Help: "Failed fetches, result writes or acknowledgements of a sender (retried)."}),
		pendingAcks: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_sender_pending_acks",
			Help: "Sends a sender holds unacknowledged now (in flight at the providers)."}),
		partitionsNow: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tact_sender_partitions",
			Help: "Partitions this sender pulls from (each is pinned to one sender of the group at a time)."}),
	}
	for _, o := range []string{"allowed", "refused", "error"} {
		m.eligibilityAnswers.WithLabelValues(o)
	}
	return m
}

// RegisterEngine adds the engine's side of the metrics to reg.
func (m *SendMetrics) RegisterEngine(reg prometheus.Registerer) error {
	return register(reg, m.published, m.resultTimeouts, m.eligibilityAnswers)
}

// RegisterSender adds a sender's side of the metrics to reg.
func (m *SendMetrics) RegisterSender(reg prometheus.Registerer) error {
	return register(reg, m.sent, m.held, m.redeliveries, m.alreadyDone, m.malformed, m.senderErrors, m.pendingAcks, m.partitionsNow)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
