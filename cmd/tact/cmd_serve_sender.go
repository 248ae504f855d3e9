package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/server"
)

// engineSends is the engine role's side of remote sending
// (cluster.send.enabled): the journeys' channels publish to the senders,
// and the engine answers their eligibility questions. A nil *engineSends
// (sending in process) does nothing.
type engineSends struct {
	conn    *cluster.Conn
	sends   *cluster.RemoteSends
	metrics *cluster.SendMetrics
	svc     *cluster.EligibilityService
}

// startEngineSends checks the cluster section and, with remote sending on,
// creates the send stream and makes the journeys send through it.
func (a *app) startEngineSends(ctx context.Context) (*engineSends, error) {
	cc, err := a.clusterConfig()
	if err != nil || !cc.Send.Enabled {
		return nil, err
	}
	log := newLogger(a.stderr, a.getenv)
	conn, err := cluster.Connect(cc, "tact-engine-sends", log)
	if err != nil {
		return nil, err
	}
	e := &engineSends{conn: conn, metrics: cluster.NewSendMetrics()}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if e.sends, err = cluster.NewRemoteSends(sctx, conn, e.metrics, log); err != nil {
		conn.Close()
		return nil, err
	}
	a.sendThrough = e.sends.Channel
	return e, nil
}

// answer registers the metrics with srv and answers the senders with the
// runner's gate.
func (e *engineSends) answer(srv *server.Server, r *journeys.Runner) error {
	if e == nil {
		return nil
	}
	if err := e.metrics.RegisterEngine(srv.Metrics().Registry()); err != nil {
		return err
	}
	svc, err := cluster.ServeEligibility(e.conn, r.Gate(), e.metrics, r.Store().Logger())
	e.svc = svc
	return err
}

func (e *engineSends) close() {
	if e == nil {
		return
	}
	if e.svc != nil {
		_ = e.svc.Close()
	}
	e.sends.Close()
	e.conn.Close()
}

// serveSender runs a sender node: no database. It builds the channels:
// section's adapters (templates, SMTP, SMS, push, webhook, LINE), each
// asking the engine before its provider call, and sends the partitions
// pinned to it. Its links are signed with channels.links.keys, the keys
// the engine verifies them with.
func (a *app) serveSender(ctx context.Context, addr string) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	cc, err := a.clusterConfig()
	if err != nil {
		return err
	}
	if !channelsConfigured(cfg.Channels) {
		return errors.New("config: channels: a sender needs the channels section the engine uses (templates, providers, links.keys)")
	}
	if len(cfg.Channels.Links.Keys) == 0 {
		return errors.New("config: channels.links.keys: a sender signs links without the engine's database: give the keys the engine uses")
	}
	clk, err := a.clock()
	if err != nil {
		return err
	}
	log := newLogger(a.stderr, a.getenv)
	conn, err := cluster.Connect(cc, "tact-sender", log)
	if err != nil {
		return err
	}
	defer conn.Close()
	gate := cluster.NewRemoteGate(conn)
	lookup := func(k string) (string, bool) { v := a.getenv(k); return v, v != "" }
	chset, err := setup.Build(cfg.Channels, setup.Deps{LookupEnv: lookup, Now: clk.Now, Gate: gate})
	if err != nil {
		return err
	}
	defer func() { _ = chset.Close() }()
	for _, w := range chset.Warnings {
		fmt.Fprintln(a.stderr, "tact: "+w)
	}
	metrics := cluster.NewSendMetrics()
	reg := prometheus.NewRegistry()
	if err := metrics.RegisterSender(reg); err != nil {
		return err
	}
	sender := cluster.NewSender(conn, chset.Channels, gate, metrics, log)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sender.Run(sctx) }()
	defer func() { stop(); <-done }()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "tact: sender serving on %s\n", ln.Addr())
	status := func() (bool, any) {
		st := sender.Status()
		return st.Running && conn.Connected(), st
	}
	return server.ServeClusterNode(ctx, ln, roleSender, status, reg, log)
}
