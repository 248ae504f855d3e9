package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tactcdp/tact/channels"
)

// engineQueue is the queue group of the engines answering eligibility
// questions: one answers each (there is one engine; a second during a
// hand-over answers from the same database).
const engineQueue = "tact-engine"

// ServeEligibility answers the senders' eligibility questions with gate,
// the engine's own last check (the journeys runner's gate: the one
// eligibility decision, re-read whenever anything was committed since)
// until Close. Each question is one message right before its provider
// call.
func ServeEligibility(conn *Conn, gate channels.Gate, m *SendMetrics, log *slog.Logger) (*EligibilityService, error) {
	if m == nil {
		m = NewSendMetrics()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &EligibilityService{gate: gate, metrics: m, log: log, timeout: conn.cfg.Send.EligibilityTimeout}
	sub, err := conn.nc.QueueSubscribe(conn.cfg.Send.EligibilitySubject, engineQueue, s.answer)
	if err != nil {
		return nil, err
	}
	s.sub = sub
	return s, nil
}

// EligibilityService is the engine's answering side; Close stops it.
type EligibilityService struct {
	gate    channels.Gate
	metrics *SendMetrics
	log     *slog.Logger
	timeout time.Duration
	sub     *nats.Subscription
}

// Close stops answering (senders then hold their sends).
func (s *EligibilityService) Close() error { return s.sub.Unsubscribe() }

func (s *EligibilityService) answer(msg *nats.Msg) {
	var q eligibilityQuestion
	var a eligibilityAnswer
	if err := json.Unmarshal(msg.Data, &q); err != nil {
		a.Error = (&WireError{What: "eligibility question", Err: err}).Error()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		reason, err := s.gate.Check(ctx, q.Channel, q.Message.message())
		cancel()
		if err != nil {
			// The decision could not be made: the sender's adapter skips
			// the send with gate_error, as in the single process.
			a.Error = errSummary(err)
		} else {
			a.Reason = reason
		}
	}
	outcome := "allowed"
	switch {
	case a.Error != "":
		outcome = "error"
	case a.Reason != "":
		outcome = "refused"
	}
	s.metrics.eligibilityAnswers.WithLabelValues(outcome).Inc()
	body, _ := json.Marshal(a)
	if err := msg.Respond(body); err != nil {
		s.log.Warn("eligibility: answer not sent", "err", err.Error())
	}
}
