package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/tactcdp/tact/channels"
)

// RemoteGate is a sender's channels.Gate: each Check asks the engine, over
// NATS request-reply, for the eligibility decision right before that
// message's provider call; the engine answers with its own gate (the one
// decision, re-read after any commit). When the engine does not answer
// within send.eligibility_timeout, the send is held (fail closed): the
// adapter skips it, and the sender, instead of recording the skip, offers
// it again after send.hold_delay.
type RemoteGate struct {
	conn *Conn

	mu   sync.Mutex
	held map[string]bool
}

// NewRemoteGate asks the engine through conn.
func NewRemoteGate(conn *Conn) *RemoteGate { return &RemoteGate{conn: conn, held: map[string]bool{}} }

// ErrEngineUnavailable is Check's error when the engine did not answer.
var ErrEngineUnavailable = errors.New("cluster: the engine did not answer the eligibility question; the send is held")

// Check implements channels.Gate.
func (g *RemoteGate) Check(ctx context.Context, channel string, m channels.Message) (string, error) {
	q := eligibilityQuestion{Channel: channel, Message: toWire(m)}
	q.Message.Traits, q.Message.Payload = nil, nil // the decision needs neither
	body, err := json.Marshal(q)
	if err != nil {
		return "", err
	}
	rctx, cancel := context.WithTimeout(ctx, g.conn.cfg.Send.EligibilityTimeout)
	defer cancel()
	resp, err := g.conn.nc.RequestWithContext(rctx, g.conn.cfg.Send.EligibilitySubject, body)
	if err != nil {
		g.hold(m.IdempotencyKey)
		return "", ErrEngineUnavailable
	}
	var a eligibilityAnswer
	if err := json.Unmarshal(resp.Data, &a); err != nil {
		g.hold(m.IdempotencyKey)
		return "", ErrEngineUnavailable
	}
	if a.Error != "" {
		return "", &EligibilityError{Msg: a.Error}
	}
	return a.Reason, nil
}

func (g *RemoteGate) hold(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held[key] = true
}

// takeHeld reports (and forgets) whether key's check was held.
func (g *RemoteGate) takeHeld(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.held[key]
	delete(g.held, key)
	return h
}

// EligibilityError is the engine's failure to decide (it answered): the
// send is skipped with gate_error, as in the single process.
type EligibilityError struct{ Msg string }

func (e *EligibilityError) Error() string { return "engine: " + e.Msg }
