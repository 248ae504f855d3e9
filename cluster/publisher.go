package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tactcdp/tact/engine"
)

// PublishError says the stream did not acknowledge every record of a
// request: the ingest node answers 503 and the client retries with the
// same message ids, which the stream de-duplicates.
type PublishError struct {
	// Stalled: no ack within the publish timeout (an election longer than
	// it, or no quorum); else the stream refused or could not be reached.
	Stalled bool
	Err     error
}

func (e *PublishError) Error() string {
	if e.Stalled {
		return "cluster: the events stream did not acknowledge in time: " + e.Err.Error()
	}
	return "cluster: publishing to the events stream failed: " + e.Err.Error()
}

func (e *PublishError) Unwrap() error { return e.Err }

// failFast is how long after a failed publish the publisher refuses at
// once: the server's group commit bisects a failed batch, and each half
// would otherwise wait out the whole timeout again.
const failFast = time.Second

// retryWait spaces the re-publishes of records that failed (no responders
// during an election) within the publish timeout.
const retryWait = 200 * time.Millisecond

// Publisher writes the ingest node's validated rows to the events stream
// instead of the database. It implements the server's Importer,
// UntrustedImporter and Ingester seams.
type Publisher struct {
	conn    *Conn
	metrics *Metrics
	now     func() time.Time

	mu         sync.Mutex
	failedAt   time.Time
	lastFailed error
}

// NewPublisher publishes through conn; metrics may be nil.
func NewPublisher(conn *Conn, m *Metrics) *Publisher {
	if m == nil {
		m = NewMetrics()
	}
	m.setPending(func() float64 { return float64(conn.js.PublishAsyncPending()) })
	return &Publisher{conn: conn, metrics: m, now: time.Now}
}

// Ingest publishes a group commit: its profile rows, then its events, each
// acknowledged before it returns.
func (p *Publisher) Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error) {
	var res engine.IngestResult
	recs := make([]record, 0, len(b.Profiles)+b.Events.Len())
	for i, row := range b.Profiles {
		var id string
		if i < len(b.ProfileMessageIDs) {
			id = b.ProfileMessageIDs[i]
		}
		recs = append(recs, profileRecord(row, id, b.Untrusted))
	}
	ev := &b.Events
	for i := range ev.Len() {
		recs = append(recs, record{Untrusted: b.Untrusted, Event: &eventRecord{
			UserID: ev.UserID[i], AnonymousID: ev.AnonymousID[i], Event: ev.Event[i], TS: ev.TS[i],
			Properties: ev.Properties[i], Context: ev.Context[i], MessageID: ev.MessageID[i]}})
	}
	if err := p.publish(ctx, recs); err != nil {
		return res, err
	}
	res.Profiles.Rows = len(b.Profiles)
	res.EventsAdded = ev.Len()
	return res, nil
}

// ImportRows publishes rows of kind (the server uses it for events sent
// without a message id).
func (p *Publisher) ImportRows(ctx context.Context, kind engine.ImportKind, _ string, rows []map[string]any) (engine.ImportResult, error) {
	return p.importRows(ctx, kind, rows, false)
}

// ImportRowsUntrusted is ImportRows for a client write key's rows.
func (p *Publisher) ImportRowsUntrusted(ctx context.Context, kind engine.ImportKind, _ string, rows []map[string]any) (engine.ImportResult, error) {
	return p.importRows(ctx, kind, rows, true)
}

func (p *Publisher) importRows(ctx context.Context, kind engine.ImportKind, rows []map[string]any, untrusted bool) (engine.ImportResult, error) {
	recs := make([]record, 0, len(rows))
	for i, row := range rows {
		switch kind {
		case engine.ImportProfiles:
			recs = append(recs, profileRecord(row, "", untrusted))
		case engine.ImportEvents:
			r, err := eventRowRecord(row, untrusted)
			if err != nil {
				return engine.ImportResult{}, &engine.ImportError{Line: i + 1, Field: "properties", Msg: err.Error()}
			}
			recs = append(recs, r)
		default:
			return engine.ImportResult{}, fmt.Errorf("cluster: an ingest node publishes profiles and events, not %v", kind)
		}
	}
	if err := p.publish(ctx, recs); err != nil {
		return engine.ImportResult{}, err
	}
	return engine.ImportResult{Rows: len(rows)}, nil
}

// publish sends recs and waits for every ack. Records whose publish fails
// are sent again (same Nats-Msg-Id) until the publish timeout: a leader
// election answers "no responders" for a few seconds.
func (p *Publisher) publish(ctx context.Context, recs []record) error {
	if len(recs) == 0 {
		return nil
	}
	p.mu.Lock()
	if p.lastFailed != nil && p.now().Sub(p.failedAt) < failFast {
		err := p.lastFailed
		p.mu.Unlock()
		p.metrics.publishFailures.WithLabelValues("fail_fast").Inc()
		return err
	}
	p.mu.Unlock()
	msgs := make([]*nats.Msg, len(recs))
	for i, r := range recs {
		body, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("cluster: encode record %d: %w", i, err)
		}
		msgs[i] = &nats.Msg{Subject: p.conn.cfg.subjectOf(r), Data: body, Header: nats.Header{}}
		msgs[i].Header.Set(jetstream.MsgIDHeader, r.msgID(body))
	}
	ctx, cancel := context.WithTimeout(ctx, p.conn.cfg.PublishTimeout)
	defer cancel()
	err := p.conn.publishAll(ctx, p.conn.cfg.Stream, msgs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.failedAt, p.lastFailed = p.now(), err
		reason := "error"
		var pe *PublishError
		if errors.As(err, &pe) && pe.Stalled {
			reason = "stall"
		}
		p.metrics.publishFailures.WithLabelValues(reason).Inc()
		return err
	}
	p.lastFailed = nil
	p.metrics.published.Add(float64(len(msgs)))
	return nil
}

// publishAll publishes msgs to stream and waits for every ack, sending
// the failed ones again (same Nats-Msg-Id) until ctx ends: a leader
// election answers "no responders" for a few seconds.
func (c *Conn) publishAll(ctx context.Context, stream string, msgs []*nats.Msg) error {
	var lastErr error
	for {
		var failed []*nats.Msg
		futures := make([]jetstream.PubAckFuture, 0, len(msgs))
		for _, m := range msgs {
			wait := c.cfg.PublishTimeout
			if dl, ok := ctx.Deadline(); ok {
				wait = time.Until(dl)
			}
			f, err := c.js.PublishMsgAsync(m, jetstream.WithExpectStream(stream), jetstream.WithStallWait(max(wait, time.Millisecond)))
			if err != nil {
				failed, lastErr = append(failed, m), err
				continue
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				failed, lastErr = append(failed, f.Msg()), err
			case <-ctx.Done():
				return &PublishError{Stalled: true, Err: ctx.Err()}
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if isPermanent(lastErr) {
			return &PublishError{Err: lastErr}
		}
		msgs = failed
		select {
		case <-ctx.Done():
			return &PublishError{Stalled: true, Err: lastErr}
		case <-time.After(retryWait):
		}
	}
}

// isPermanent reports a refusal a retry cannot change (a misconfigured
// stream or subject, a message too large).
func isPermanent(err error) bool {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode {
		case jetstream.JSErrCodeStreamNotFound, jetstream.JSErrCodeStreamMessageExceedsMaximum:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrStreamNotFound)
}
