package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
)

// routeUser names the peers' route connections; the token is their
// password.
const routeUser = "tact-route"

// globalAccount is the account streams live in when the server has no
// accounts configured.
const globalAccount = "$G"

// ErrNodeNotReady is returned when the embedded server does not accept
// connections in time.
var ErrNodeNotReady = errors.New("cluster: the embedded NATS server did not become ready")

// Node is an embedded NATS server with JetStream (tact serve --role nats).
type Node struct {
	srv *natsserver.Server
}

// StartNode starts the embedded server of cfg (defaults applied) and waits
// until it accepts connections. A non-empty token is required of clients
// and of peers' routes.
func StartNode(cfg ServerConfig, token string, log *slog.Logger) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client, _ := hostPort("server.listen", cfg.Listen)
	opts := &natsserver.Options{
		ServerName: cfg.Name,
		Host:       client.host,
		Port:       freePort(client.port),
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true, // tact handles signals
		// The server's own banner and per-connection notices stay out of
		// tact's log; warnings and errors come through logAdapter.
		DisableJetStreamBanner: true,
	}
	if opts.ServerName == "" {
		host, _ := os.Hostname()
		opts.ServerName = host + "-" + strconv.Itoa(client.port)
	}
	opts.SyncInterval, opts.SyncAlways, _ = cfg.syncPolicy()
	opts.Authorization = token
	if cfg.ClusterListen != "" {
		cl, _ := hostPort("server.cluster_listen", cfg.ClusterListen)
		opts.Cluster = natsserver.ClusterOpts{Name: cfg.Cluster, Host: cl.host, Port: freePort(cl.port)}
		opts.Routes = natsserver.RoutesFromStr(strings.Join(cfg.Routes, ","))
		if token != "" {
			// Peers authenticate their routes with the same token.
			opts.Cluster.Username, opts.Cluster.Password = routeUser, token
			for _, u := range opts.Routes {
				u.User = url.UserPassword(routeUser, token)
			}
		}
	}
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS server: %w", err)
	}
	if log != nil {
		srv.SetLogger(logAdapter{log}, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, ErrNodeNotReady
	}
	return &Node{srv: srv}, nil
}

// freePort maps port 0 (pick one) to the server's RANDOM_PORT.
func freePort(p int) int {
	if p == 0 {
		return natsserver.RANDOM_PORT
	}
	return p
}

// ClientURL is the URL clients connect to.
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// ClusterURL is the route URL peers give in their routes ("" without a
// cluster).
func (n *Node) ClusterURL() string {
	a := n.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + a.String()
}

// Name is the server's name.
func (n *Node) Name() string { return n.srv.Name() }

// Shutdown stops the server.
func (n *Node) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// IsStreamLeader reports whether this server leads stream's replicas.
func (n *Node) IsStreamLeader(stream string) bool {
	return n.srv.JetStreamIsStreamLeader(globalAccount, stream)
}

// Status is the node's readiness: accepting clients, JetStream on, and in
// a cluster a known meta leader (without one no stream can be created or
// elect a leader).
func (n *Node) Status() NodeStatus {
	st := NodeStatus{Name: n.srv.Name(), Running: n.srv.Running(), JetStream: n.srv.JetStreamEnabled(), Routes: n.srv.NumRoutes()}
	st.Current = st.JetStream && n.srv.JetStreamIsCurrent()
	st.Ready = st.Running && st.JetStream && st.Current
	return st
}

// NodeStatus is what /readyz of the nats role reports.
type NodeStatus struct {
	Name      string `json:"name"`
	Running   bool   `json:"running"`
	JetStream bool   `json:"jetstream"`
	// Current: the JetStream meta layer has a leader this node follows.
	Current bool `json:"current"`
	Routes  int  `json:"routes"`
	Ready   bool `json:"ready"`
}

// logAdapter passes the server's warnings and errors to tact's log. NATS
// logs name connections and subjects, never message payloads.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l logAdapter) Debugf(string, ...any) {}
func (l logAdapter) Tracef(string, ...any) {}
func (l logAdapter) Warnf(format string, v ...any) {
	l.log.Warn("nats: " + fmt.Sprintf(format, v...))
}
func (l logAdapter) Errorf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l logAdapter) Fatalf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}

// Register adds the node's state to reg as gauges read at each scrape:
// tact_nats_ready (1 when Status().Ready), tact_nats_jetstream_current and
// tact_nats_routes.
func (n *Node) Register(reg prometheus.Registerer) error {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tact_nats_ready",
			Help: "1 while the embedded NATS server runs JetStream and follows a meta leader."}, func() float64 { return b(n.Status().Ready) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tact_nats_jetstream_current",
			Help: "1 while this server's JetStream meta layer is current with its leader."}, func() float64 { return b(n.Status().Current) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tact_nats_routes",
			Help: "Route connections to the cluster's other servers."}, func() float64 { return float64(n.Status().Routes) }),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}
