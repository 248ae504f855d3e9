package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conn is a connection to the cluster and its JetStream context.
type Conn struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
}

// Connect connects to cfg.URLs (defaults applied), reconnecting for ever
// when the server goes away; name identifies the client to the servers.
func Connect(cfg Config, name string, log *slog.Logger) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if log != nil {
		opts = append(opts,
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Warn("nats: disconnected", "err", err.Error())
				}
			}),
			nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats: reconnected", "server", c.ConnectedServerName()) }))
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	return &Conn{cfg: cfg, nc: nc, js: js}, nil
}

// Close drains nothing: publishers and consumers finish before it.
func (c *Conn) Close() { c.nc.Close() }

// ConnectedURL is the server the client is connected to now ("" when
// none).
func (c *Conn) ConnectedURL() string { return c.nc.ConnectedUrlRedacted() }

// Connected reports whether the client holds a connection now.
func (c *Conn) Connected() bool { return c.nc.IsConnected() }

// StreamConfig is the events stream as cfg describes it: file storage,
// messages kept for MaxAge (the tail a restored backup catches up from),
// de-duplicated on Nats-Msg-Id.
func (c Config) StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "Tact ingestion: profile and event records (docs/scale-out.md)",
		Subjects:    []string{c.Subject, c.Subject + ".*"}, // per person (person_subject.go)
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		MaxAge:      c.MaxAge,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
	}
}

// EnsureStream creates the events stream or brings its settings to cfg's.
// It retries until ctx ends: in a starting cluster the meta leader may not
// be elected yet.
func (c *Conn) EnsureStream(ctx context.Context) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.js.CreateOrUpdateStream(actx, c.cfg.StreamConfig())
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: stream %s: %w", c.cfg.Stream, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// StreamReady reports whether the events stream answers now (its info
// needs a stream leader): an ingest node is ready only then.
func (c *Conn) StreamReady(ctx context.Context) error {
	if !c.nc.IsConnected() {
		return ErrNotConnected
	}
	_, err := c.js.Stream(ctx, c.cfg.Stream)
	return err
}

// ErrNotConnected is returned while the client holds no connection to any
// server.
var ErrNotConnected = errors.New("cluster: not connected to NATS")

// LastSequence is the sequence of the stream's last message (0 when
// empty).
func (c *Conn) LastSequence(ctx context.Context) (uint64, error) {
	s, err := c.js.Stream(ctx, c.cfg.Stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}
