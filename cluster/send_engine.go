package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tactcdp/tact/channels"
)

// RemoteSends is the engine's side of the send path (cluster.send.enabled):
// its channels publish each batch of due sends to the partitions' subjects
// and wait for the senders' results in the results bucket. The journeys
// runner uses them like local adapters: it marks a batch in flight before
// Send and writes the results Send returns into the outbox and the journey
// log, so resumable sending and the crash rules stay as they are.
type RemoteSends struct {
	conn    *Conn
	kv      jetstream.KeyValue
	metrics *SendMetrics
	log     *slog.Logger
	stop    context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	waiting map[string]chan<- keyedResult
}

type keyedResult struct {
	key string
	res wireResult
}

// NewRemoteSends creates the send stream and the results bucket (waiting
// until ctx ends for a cluster without a quorum yet) and starts watching
// the results. metrics and log may be nil. Close stops the watch.
func NewRemoteSends(ctx context.Context, conn *Conn, m *SendMetrics, log *slog.Logger) (*RemoteSends, error) {
	if m == nil {
		m = NewSendMetrics()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := conn.ensureSend(ctx)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	rs := &RemoteSends{conn: conn, kv: kv, metrics: m, log: log, stop: cancel, done: make(chan struct{}), waiting: map[string]chan<- keyedResult{}}
	go rs.watch(wctx)
	return rs, nil
}

// Close stops watching the results.
func (rs *RemoteSends) Close() {
	rs.stop()
	<-rs.done
}

// watch passes each result put in the bucket to whoever waits for it. A
// watcher that fails is started again; results put meanwhile are found by
// the waiters' periodic reads.
func (rs *RemoteSends) watch(ctx context.Context) {
	defer close(rs.done)
	for ctx.Err() == nil {
		w, err := rs.kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
		if err != nil {
			rs.log.Warn("send results: watch failed; retrying", "err", errSummary(err))
			select {
			case <-ctx.Done():
			case <-time.After(retryAfter):
			}
			continue
		}
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			rs.deliver(e.Key(), e.Value())
		}
		_ = w.Stop()
	}
}

func (rs *RemoteSends) deliver(key string, data []byte) {
	var res wireResult
	if err := json.Unmarshal(data, &res); err != nil {
		rs.log.Warn("send results: a result does not parse; ignored", "err", err.Error())
		return
	}
	rs.mu.Lock()
	ch := rs.waiting[key]
	rs.mu.Unlock()
	if ch != nil {
		select {
		case ch <- keyedResult{key, res}:
		default: // the waiter has its result already
		}
	}
}

// Channel is the remote channel named name (one of the channels the
// senders have configured).
func (rs *RemoteSends) Channel(name string) channels.Channel {
	return remoteChannel{rs: rs, name: name}
}

type remoteChannel struct {
	rs   *RemoteSends
	name string
}

func (c remoteChannel) Name() string { return c.name }

// Send publishes batch and returns the senders' results, one per message
// in order.
func (c remoteChannel) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return c.rs.send(ctx, c.name, batch)
}

// errNoResult is the transient failure of a send without a result within
// send.result_timeout.
var errNoResult = errors.New("cluster: no result from a sender within send.result_timeout")

// isFinal says a result ends the send: anything but a transient failure
// (a retry publishes the send again).
func isFinal(r wireResult) bool { return r.Status != channels.StatusTransient && r.Status != 0 }

func (rs *RemoteSends) send(ctx context.Context, channel string, batch []channels.Message) []channels.Result {
	cfg := rs.conn.cfg
	out := make([]channels.Result, len(batch))
	filled := make([]bool, len(batch))
	index := make(map[string]int, len(batch))
	got := make(chan keyedResult, len(batch))
	rs.mu.Lock()
	for i, m := range batch {
		index[m.IdempotencyKey] = i
		rs.waiting[m.IdempotencyKey] = got
	}
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		for k := range index {
			delete(rs.waiting, k)
		}
		rs.mu.Unlock()
	}()
	left := len(batch)
	fill := func(key string, r wireResult) {
		if i, ok := index[key]; ok && !filled[i] {
			out[i], filled[i] = r.result(), true
			left--
		}
	}
	// A send recorded before a restart is published again: its sender
	// finds the final result in the bucket and puts it again, without a
	// provider call (reading the bucket here first would cost a request
	// per message on every batch).
	if err := rs.publish(ctx, channel, batch, filled); err != nil {
		for i := range out {
			if !filled[i] {
				out[i] = channels.Transient("cluster:publish", err)
			}
		}
		return out
	}
	timeout := time.NewTimer(cfg.Send.ResultTimeout)
	defer timeout.Stop()
	reread := time.NewTicker(max(cfg.Send.ResultTimeout/20, time.Second))
	defer reread.Stop()
	for left > 0 {
		select {
		case kr := <-got:
			fill(kr.key, kr.res)
		case <-reread.C:
			// A watcher that restarted may have missed a put.
			for k, r := range rs.finalResults(ctx, batch, filled) {
				fill(k, r)
			}
		case <-timeout.C:
			for i := range out {
				if !filled[i] {
					out[i] = channels.Transient("cluster:no_result", errNoResult)
					rs.metrics.resultTimeouts.Inc()
				}
			}
			return out
		case <-ctx.Done():
			for i := range out {
				if !filled[i] {
					out[i] = channels.Transient("context", ctx.Err())
				}
			}
			return out
		}
	}
	return out
}

// finalResults reads the bucket for the unfilled sends of batch and
// returns their final results by key.
func (rs *RemoteSends) finalResults(ctx context.Context, batch []channels.Message, filled []bool) map[string]wireResult {
	found := map[string]wireResult{}
	for i, m := range batch {
		if filled[i] {
			continue
		}
		e, err := rs.kv.Get(ctx, m.IdempotencyKey)
		if err != nil {
			continue // not there (or the bucket unreachable: the wait goes on)
		}
		var r wireResult
		if json.Unmarshal(e.Value(), &r) == nil && isFinal(r) {
			found[m.IdempotencyKey] = r
		}
	}
	return found
}

// publish puts the unfilled sends of batch on their partitions' subjects.
// The message id is the idempotency key plus this attempt's nonce: the
// stream drops a second copy of one attempt (a publish retried through an
// election), while a retry after a transient failure is a new attempt
// that must reach a sender again.
func (rs *RemoteSends) publish(ctx context.Context, channel string, batch []channels.Message, filled []bool) error {
	cfg := rs.conn.cfg
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	attempt := hex.EncodeToString(nonce[:])
	msgs := make([]*nats.Msg, 0, len(batch))
	for i, m := range batch {
		if filled[i] {
			continue
		}
		body, err := json.Marshal(wireSend{Channel: channel, Message: toWire(m)})
		if err != nil {
			return fmt.Errorf("cluster: encode send %d: %w", i, err)
		}
		msg := &nats.Msg{Subject: cfg.partitionSubject(Partition(m.ProfileID, cfg.Send.Partitions)), Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, m.IdempotencyKey+"."+attempt)
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.PublishTimeout)
	defer cancel()
	if err := rs.conn.publishAll(pctx, cfg.Send.Stream, msgs); err != nil {
		return err
	}
	rs.metrics.published.Add(float64(len(msgs)))
	return nil
}
