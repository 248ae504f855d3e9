package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tactcdp/tact/engine"
)

// Store is what the engine's consumer writes through; engine.Store is one.
type Store interface {
	Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error)
	ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error)
	ImportRowsUntrusted(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error)
	StreamPosition(ctx context.Context, stream string) (engine.StreamPosition, error)
	SetStreamPosition(ctx context.Context, stream string, p engine.StreamPosition) error
}

// Committed is told the rows of each committed batch (the server's
// profile watcher and scheduler nudge, as after an HTTP group commit).
type Committed func(profiles, events []map[string]any)

// retryAfter spaces the consumer's attempts after a failed fetch or write.
const retryAfter = time.Second

// fetchWait bounds one fetch: the consumer checks for shutdown between
// fetches.
const fetchWait = time.Second

// Consumer is the engine role's reader of the events stream: the single
// DuckDB writer. Each batch is written through the store's ingestion,
// then its last sequence is stored, then the messages are acknowledged. A
// restart resumes after the stored sequence; what was written but not yet
// recorded comes again and is recognised by its message ids.
type Consumer struct {
	conn      *Conn
	store     Store
	metrics   *Metrics
	log       *slog.Logger
	committed Committed

	mu     sync.Mutex
	status ConsumerStatus
}

// ConsumerStatus is what /readyz of the engine role reports.
type ConsumerStatus struct {
	// Running: the durable consumer exists and the last fetch worked.
	Running bool `json:"running"`
	// Position is the last committed stream sequence; Lag the messages
	// after it (as of the last fetch).
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag"`
	// Error describes the last failure (no personal data), "" when fine.
	Error string `json:"error,omitempty"`
}

// NewConsumer reads conn's events stream into store; metrics and committed
// may be nil.
func NewConsumer(conn *Conn, store Store, m *Metrics, log *slog.Logger, committed Committed) *Consumer {
	if m == nil {
		m = NewMetrics()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{conn: conn, store: store, metrics: m, log: log, committed: committed}
}

// Status is the consumer's state now.
func (c *Consumer) Status() ConsumerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Consumer) setStatus(f func(*ConsumerStatus)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.status)
}

// Run consumes until ctx ends. Failures (no quorum, the database busy) are
// retried from the stored position.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.metrics.consumeErrors.Inc()
		c.setStatus(func(s *ConsumerStatus) { s.Running, s.Error = false, errSummary(err) })
		c.log.Warn("stream consumer failed; resuming from the stored position", "stream", c.conn.cfg.Stream, "err", errSummary(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryAfter):
		}
	}
}

// session (re)creates the durable consumer at the stored position and
// consumes with it until an error.
func (c *Consumer) session(ctx context.Context) error {
	cfg := c.conn.cfg
	stored, err := c.store.StreamPosition(ctx, cfg.Stream)
	if err != nil {
		return &storeError{err}
	}
	if err := c.conn.EnsureStream(ctx); err != nil {
		return err
	}
	stream, err := c.conn.js.Stream(ctx, cfg.Stream)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	info := stream.CachedInfo()
	pos, note := c.resumeAt(stored, info)
	// The database's position is the truth: the durable consumer is made
	// anew from it, whatever a previous one had acknowledged.
	if err := c.conn.js.DeleteConsumer(ctx, cfg.Stream, cfg.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer: %w", err)
	}
	cc := jetstream.ConsumerConfig{Durable: cfg.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute,
		MaxAckPending: 2 * cfg.BatchSize, DeliverPolicy: jetstream.DeliverAllPolicy, Description: "tact engine (docs/scale-out.md)"}
	if pos.Seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos.Seq+1
	}
	cons, err := c.conn.js.CreateConsumer(ctx, cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	c.metrics.position.Set(float64(pos.Seq))
	c.setStatus(func(s *ConsumerStatus) { s.Running, s.Position, s.Error = true, pos.Seq, note })
	for ctx.Err() == nil {
		batch, err := cons.Fetch(cfg.BatchSize, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("fetch: %w", err)
		}
		if len(msgs) == 0 {
			if info, err := cons.Info(ctx); err == nil {
				c.metrics.lag.Set(float64(info.NumPending))
				c.setStatus(func(s *ConsumerStatus) { s.Lag = info.NumPending })
			}
			continue
		}
		if pos, err = c.commit(ctx, msgs, pos); err != nil {
			return err
		}
	}
	return nil
}

// resumeAt is where consumption resumes in the stream described by info,
// and what /readyz should say about it. A stream made again (another
// creation time) restarts its sequences: it is read from its start, the
// message ids keeping replays out. Messages after the position that the
// stream no longer holds (older than max_age, purged) are a gap the
// database will never fill: logged, counted and reported; consumption goes
// on with what remains.
func (c *Consumer) resumeAt(stored engine.StreamPosition, info *jetstream.StreamInfo) (engine.StreamPosition, string) {
	created := info.Created.UTC().Truncate(time.Microsecond)
	pos := engine.StreamPosition{Seq: stored.Seq, Created: created}
	var note string
	if stored.Seq > 0 && !stored.Created.Equal(created) {
		c.log.Error("the events stream was made again since the stored position; reading it from its start",
			"stream", c.conn.cfg.Stream, "position", stored.Seq)
		note = fmt.Sprintf("the stream was made again after position %d of the previous one; read from its start", stored.Seq)
		pos.Seq = 0
	}
	first := info.State.FirstSeq
	if first <= pos.Seq+1 {
		c.metrics.gap.Set(0)
		return pos, note
	}
	missing := first - pos.Seq - 1
	c.metrics.gap.Set(float64(missing))
	c.log.Error("stream messages after the stored position are gone; the database lacks them (docs/scale-out.md, Rebuilding)",
		"stream", c.conn.cfg.Stream, "position", pos.Seq, "first_sequence", first, "missing", missing)
	return pos, strings.TrimPrefix(note+"; ", "; ") + fmt.Sprintf("%d messages after position %d are no longer in the stream", missing, pos.Seq)
}

// seqRecord is a decoded message and its stream sequence.
type seqRecord struct {
	seq uint64
	rec record
}

// commit writes msgs (those after pos), stores the new position and
// acknowledges them. It returns the new position.
func (c *Consumer) commit(ctx context.Context, msgs []jetstream.Msg, at engine.StreamPosition) (engine.StreamPosition, error) {
	pos := at.Seq
	var todo []seqRecord
	last := pos
	var lag uint64
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			return at, fmt.Errorf("message metadata: %w", err)
		}
		if md.NumDelivered > 1 {
			c.metrics.redeliveries.Inc()
		}
		lag = md.NumPending
		seq := md.Sequence.Stream
		last = max(last, seq)
		if seq <= pos {
			continue // committed before a restart or a redelivery
		}
		rec, err := decodeRecord(m.Data())
		if err != nil {
			c.reject(seq, "undecodable", err)
			continue
		}
		todo = append(todo, seqRecord{seq, rec})
	}
	if err := c.writeRuns(ctx, todo); err != nil {
		return at, &storeError{err}
	}
	next := engine.StreamPosition{Seq: last, Created: at.Created}
	if last > pos {
		if err := c.store.SetStreamPosition(ctx, c.conn.cfg.Stream, next); err != nil {
			return at, &storeError{err}
		}
	}
	for _, m := range msgs {
		_ = m.Ack() // the stored position, not the ack, is what a restart trusts
	}
	c.metrics.consumed.Add(float64(len(todo)))
	c.metrics.position.Set(float64(last))
	c.metrics.lag.Set(float64(lag))
	c.setStatus(func(s *ConsumerStatus) { s.Running, s.Position, s.Lag = true, last, lag })
	return next, nil
}

// Ready reports whether the consumer reads the stream now (server's
// StreamStatus).
func (c *Consumer) Ready() bool { return c.Status().Running }

// Report is the consumer's status for /readyz (server's StreamStatus).
func (c *Consumer) Report() any { return c.Status() }
