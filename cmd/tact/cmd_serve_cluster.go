package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/server"
)

// The roles of tact serve --role (docs/scale-out.md).
const (
	roleAll    = "all"    // one process, one DuckDB file, no NATS (the default)
	roleIngest = "ingest" // stateless: the tracking API, published to the events stream
	roleEngine = "engine" // the single DuckDB writer: consumes the stream, serves the rest
	roleSender = "sender" // calls the providers for the engine's due sends
	roleNATS   = "nats"   // an embedded NATS server with JetStream
)

func checkRole(role string) error {
	switch role {
	case roleAll, roleIngest, roleEngine, roleSender, roleNATS:
		return nil
	}
	return usagef("serve --role: %q (want all, ingest, engine, sender or nats)", role)
}

// clusterConfig is tact.yaml's cluster: section with its defaults.
func (a *app) clusterConfig() (cluster.Config, error) {
	cfg, err := a.config()
	if err != nil {
		return cluster.Config{}, err
	}
	cc := cfg.Cluster.WithDefaults()
	if name, ok := strings.CutPrefix(cc.Token, "env:"); ok {
		if cc.Token = a.getenv(name); cc.Token == "" {
			return cc, fmt.Errorf("config: cluster.token: $%s is not set", name)
		}
	}
	if err := cc.Validate(); err != nil {
		return cc, fmt.Errorf("config: %w", err)
	}
	return cc, nil
}

// serveNATS runs the embedded NATS server and its health endpoints on addr.
func (a *app) serveNATS(ctx context.Context, addr string) error {
	cc, err := a.clusterConfig()
	if err != nil {
		return err
	}
	if err := cc.ValidateNode(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := newLogger(a.stderr, a.getenv)
	node, err := cluster.StartNode(cc.Server, cc.Token, log)
	if err != nil {
		return err
	}
	defer node.Shutdown()
	fmt.Fprintf(a.stderr, "tact: nats %s accepting clients on %s\n", node.Name(), node.ClientURL())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "tact: serving on %s\n", ln.Addr())
	status := func() (bool, any) { st := node.Status(); return st.Ready, st }
	reg := prometheus.NewRegistry()
	if err := node.Register(reg); err != nil {
		return err
	}
	return server.ServeNATSNode(ctx, ln, status, reg, log)
}

// serveIngest runs a stateless ingest node: no database file. An in-memory
// store lends the validation rules (default region, event-time window) of
// the same configuration the engine uses; write keys come from
// server.write_keys (and TACT_WRITE_KEY), so the node never needs the
// engine to answer.
func (a *app) serveIngest(ctx context.Context, sc server.Config) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	cc, err := a.clusterConfig()
	if err != nil {
		return err
	}
	if len(sc.WriteKeys) == 0 {
		return errors.New("config: server.write_keys: an ingest node needs at least one write key (or TACT_WRITE_KEY)")
	}
	clk, err := a.clock()
	if err != nil {
		return err
	}
	log := newLogger(a.stderr, a.getenv)
	// The rules store hashes nothing: it needs no hashing key (and must not
	// create a key file on an ingest machine), and one DuckDB thread.
	ec := cfg.Engine()
	ec.HashKey, ec.Threads = "", 1
	rules, err := engine.Open(ctx, engine.MemoryPath, engine.Options{Config: ec, Clock: clk, Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = rules.Close() }()
	conn, err := cluster.Connect(cc, "tact-ingest", log)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The node starts even before the cluster has a quorum; /readyz says
	// when the stream takes writes.
	go func() {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := conn.EnsureStream(ectx); err != nil && ctx.Err() == nil {
			log.Error("events stream unavailable", "err", err.Error())
		}
	}()
	metrics := cluster.NewMetrics()
	srv, err := server.NewIngestNode(server.Options{Config: sc, Store: rules, Clock: clk, Logger: log},
		cluster.NewPublisher(conn, metrics), conn.StreamReady)
	if err != nil {
		return err
	}
	if err := metrics.Register(srv.Metrics().Registry()); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", sc.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "tact: ingest node serving on %s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// consumeStream makes srv the cluster's engine: it consumes the events
// stream into st until srv shuts down. The returned func closes the
// connection after that.
func (a *app) consumeStream(srv *server.Server, st *engine.Store) (func(), error) {
	cc, err := a.clusterConfig()
	if err != nil {
		return nil, err
	}
	log := newLogger(a.stderr, a.getenv)
	conn, err := cluster.Connect(cc, "tact-engine", log)
	if err != nil {
		return nil, err
	}
	metrics := cluster.NewMetrics()
	if err := metrics.Register(srv.Metrics().Registry()); err != nil {
		conn.Close()
		return nil, err
	}
	// Erasing a person also purges their messages from the stream, before
	// anything is deleted (engine.ErasureHook).
	st.SetErasureHook(conn.PurgePerson)
	c := cluster.NewConsumer(conn, st, metrics, log, srv.StreamCommitted)
	srv.RunStreamConsumer(c.Run, c)
	return conn.Close, nil
}
