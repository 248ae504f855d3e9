package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tactcdp/tact/channels"
)

// Sender is a sender node's worker (tact serve --role sender): it pulls
// sends from every partition's consumer (the stream pins each partition
// to one sender of the group at a time and hands it over when that sender
// stops pulling), hands them to its channels, whose adapters ask the
// engine for the eligibility decision right before each provider call
// (RemoteGate), and puts each result in the results bucket before
// acknowledging the send. A sender that dies leaves its unacknowledged
// sends to be offered again after send.ack_wait: the provider may see
// those (the sends in flight) twice, never more; a send whose final result
// is already in the bucket is not offered to a provider again.
type Sender struct {
	conn    *Conn
	chans   map[string]channels.Channel
	gate    *RemoteGate
	metrics *SendMetrics
	log     *slog.Logger

	mu     sync.Mutex
	status SenderStatus
}

// SenderStatus is what /readyz of the sender role reports.
type SenderStatus struct {
	// Running: the send stream and every partition's consumer exist.
	Running bool `json:"running"`
	// Partitions is how many partitions this sender pulls from.
	Partitions int `json:"partitions"`
	// Error describes the last failure, "" when fine.
	Error string `json:"error,omitempty"`
}

// NewSender sends through chans (by channel name), whose adapters were
// built with gate; metrics and log may be nil.
func NewSender(conn *Conn, chans map[string]channels.Channel, gate *RemoteGate, m *SendMetrics, log *slog.Logger) *Sender {
	if m == nil {
		m = NewSendMetrics()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{conn: conn, chans: chans, gate: gate, metrics: m, log: log}
}

// Status is the sender's state now.
func (s *Sender) Status() SenderStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Sender) setStatus(f func(*SenderStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
}

// Run pulls and sends until ctx ends. Sends in hand when ctx ends are
// left unacknowledged (offered again after send.ack_wait).
func (s *Sender) Run(ctx context.Context) error {
	kv, err := s.conn.ensureSend(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	n := s.conn.cfg.Send.Partitions
	var wg sync.WaitGroup
	for p := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.partition(ctx, kv, p)
		}()
	}
	s.setStatus(func(st *SenderStatus) { st.Running, st.Partitions = true, n })
	s.metrics.partitionsNow.Set(float64(n))
	wg.Wait()
	s.setStatus(func(st *SenderStatus) { st.Running = false })
	return nil
}

// partition pulls partition p's sends until ctx ends.
func (s *Sender) partition(ctx context.Context, kv jetstream.KeyValue, p int) {
	cfg := s.conn.cfg
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := s.conn.js.CreateOrUpdateConsumer(cctx, cfg.Send.Stream, cfg.partitionConsumer(p))
			cancel()
			if err != nil {
				s.failed(ctx, fmt.Errorf("partition %d consumer: %w", p, err))
				continue
			}
			cons = c
		}
		batch, err := cons.Fetch(cfg.Send.Batch, jetstream.FetchMaxWait(fetchWait), jetstream.FetchPriorityGroup(cfg.Send.Group))
		if err != nil {
			cons = nil
			s.failed(ctx, fmt.Errorf("partition %d fetch: %w", p, err))
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrPinIDMismatch) && !errors.Is(err, jetstream.ErrNoMessages) {
			s.failed(ctx, fmt.Errorf("partition %d fetch: %w", p, err))
		}
		if len(msgs) > 0 {
			s.process(ctx, kv, msgs)
		}
	}
}

func (s *Sender) failed(ctx context.Context, err error) {
	s.metrics.senderErrors.Inc()
	s.setStatus(func(st *SenderStatus) { st.Error = errSummary(err) })
	s.log.Warn("sender: retrying", "err", errSummary(err))
	select {
	case <-ctx.Done():
	case <-time.After(retryAfter):
	}
}

// pending is one send in hand.
type pending struct {
	msg     jetstream.Msg
	send    wireSend
	message channels.Message
}

// process sends one fetched batch: sends already answered are
// acknowledged, the rest go to their channels (in fetch order within a
// channel), and each result is put in the bucket, then acknowledged.
func (s *Sender) process(ctx context.Context, kv jetstream.KeyValue, msgs []jetstream.Msg) {
	s.metrics.pendingAcks.Add(float64(len(msgs)))
	defer s.metrics.pendingAcks.Sub(float64(len(msgs)))
	byChannel := map[string][]pending{}
	var order []string
	// A stop part-way leaves holds unfinished: forget them (finish takes
	// the others first).
	defer func() {
		for _, list := range byChannel {
			for _, p := range list {
				s.gate.takeHeld(p.message.IdempotencyKey)
			}
		}
	}()
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			s.metrics.redeliveries.Inc()
		}
		ws, err := decodeSend(m.Data())
		if err != nil {
			s.metrics.malformed.Inc()
			s.log.Warn("sender: a send does not parse; terminated", "err", err.Error())
			_ = m.Term()
			continue
		}
		if s.answered(ctx, kv, ws.Message.IdempotencyKey) {
			_ = m.Ack()
			continue
		}
		if _, ok := byChannel[ws.Channel]; !ok {
			order = append(order, ws.Channel)
		}
		byChannel[ws.Channel] = append(byChannel[ws.Channel], pending{msg: m, send: ws, message: ws.Message.message()})
	}
	for _, name := range order {
		list := byChannel[name]
		batch := make([]channels.Message, len(list))
		for i, p := range list {
			batch[i] = p.message
		}
		var results []channels.Result
		if ch, ok := s.chans[name]; ok {
			results = ch.Send(ctx, batch)
		} else {
			results = make([]channels.Result, len(batch))
			for i := range results {
				results[i] = channels.Permanent("sender:no_channel", &NoChannelError{Channel: name})
			}
		}
		if ctx.Err() != nil {
			// Stopping: nothing is recorded or acknowledged; the stream
			// offers these sends again (to this sender's successor).
			return
		}
		for i, p := range list {
			s.finish(ctx, kv, p, results, i)
		}
	}
}

// finish records one send's result and acknowledges it, or holds it when
// the engine did not answer its eligibility question.
func (s *Sender) finish(ctx context.Context, kv jetstream.KeyValue, p pending, results []channels.Result, i int) {
	key := p.message.IdempotencyKey
	if s.gate.takeHeld(key) {
		s.metrics.held.Inc()
		_ = p.msg.NakWithDelay(s.conn.cfg.Send.HoldDelay)
		return
	}
	r := channels.Transient("sender", fmt.Errorf("the channel returned %d results for %d sends", len(results), i+1))
	if i < len(results) {
		r = results[i]
	}
	body, err := json.Marshal(resultToWire(r))
	if err == nil {
		_, err = kv.Put(ctx, key, body)
	}
	if err != nil {
		// Unrecorded: left unacknowledged, offered again after ack_wait.
		s.metrics.senderErrors.Inc()
		s.log.Warn("sender: result not recorded; the send will be offered again", "err", errSummary(err))
		return
	}
	s.metrics.sent.WithLabelValues(r.Status.String()).Inc()
	if err := p.msg.Ack(); err != nil {
		s.metrics.senderErrors.Inc()
	}
}

// answered reports whether key's final result is in the bucket (a send
// offered again after its sender recorded it): it is put again, so that
// an engine waiting for it hears of it, and no provider is called.
func (s *Sender) answered(ctx context.Context, kv jetstream.KeyValue, key string) bool {
	e, err := kv.Get(ctx, key)
	if err != nil {
		return false
	}
	var r wireResult
	if json.Unmarshal(e.Value(), &r) != nil || !isFinal(r) {
		return false
	}
	if _, err := kv.Put(ctx, key, e.Value()); err != nil {
		return false
	}
	s.metrics.alreadyDone.Inc()
	return true
}

// NoChannelError is a send for a channel this sender has not configured.
type NoChannelError struct{ Channel string }

func (e *NoChannelError) Error() string {
	return "cluster: this sender has no " + e.Channel + " channel configured"
}
