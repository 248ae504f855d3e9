package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Defaults of Config, documented on its fields.
const (
	DefaultURL             = "nats://127.0.0.1:4222"
	DefaultStream          = "TACT_EVENTS"
	DefaultSubject         = "tact.events"
	DefaultDuplicateWindow = 2 * time.Minute
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultPublishTimeout  = 10 * time.Second
	DefaultMaxPending      = 4096
	DefaultBatchSize       = 5000
	DefaultConsumer        = "tact-engine"
	DefaultListen          = "0.0.0.0:4222"
	DefaultClusterName     = "tact"
	DefaultStoreDir        = "tact-nats"
	// MinPublishTimeout is the shortest publish timeout accepted: above a
	// JetStream leader election (5–6 s measured), so that an election makes
	// requests wait rather than fail.
	MinPublishTimeout = 10 * time.Second
)

// Config is tact.yaml's cluster: section, read by every role but all.
type Config struct {
	// URLs are the NATS servers the ingest and engine roles connect to
	// (default DefaultURL). Give every node of the cluster: the client
	// reconnects to another when one goes away.
	URLs []string `yaml:"urls"`
	// Stream is the JetStream stream the events go to (default
	// DefaultStream) and Subject its subject (default DefaultSubject).
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"`
	// Replicas is how many nodes hold the stream (default 1; 3 for a
	// three-node cluster, so that it survives the loss of one). 1 to 5.
	Replicas int `yaml:"replicas"`
	// DuplicateWindow is how long the stream remembers a message id to
	// refuse a second copy (default DefaultDuplicateWindow). It costs
	// about 130–145 bytes per message per replica (docs/scale-out.md).
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// MaxAge is how long the stream keeps a message (default 168h, at
	// least 1h). The stream holds personal data: an erasure in the database
	// does not reach it, so this bounds how long an erased person's events
	// survive there. It must exceed the longest engine outage (older
	// messages are discarded whether consumed or not) and the age of the
	// database backup a rebuild starts from (docs/scale-out.md).
	MaxAge time.Duration `yaml:"max_age"`
	// PublishTimeout is how long an ingest node waits for the acks of a
	// request's events before answering 503 (default and minimum 10s:
	// longer than a leader election).
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// MaxPending caps the publishes an ingest node has in flight (default
	// DefaultMaxPending); past it a publish waits, within PublishTimeout.
	MaxPending int `yaml:"max_pending"`
	// BatchSize is how many stream messages the engine writes per
	// transaction (default DefaultBatchSize).
	BatchSize int `yaml:"batch_size"`
	// Consumer is the engine's durable consumer name (default
	// DefaultConsumer).
	Consumer string `yaml:"consumer"`
	// Token authenticates clients to the NATS servers and the servers to
	// each other ("env:NAME" or the value; at least 16 characters). The
	// stream holds personal data: a NATS server listening beyond loopback
	// refuses to start without one.
	Token string `yaml:"token"`
	// Server configures the embedded NATS server of --role nats.
	Server ServerConfig `yaml:"server"`
	// Send hands the engine's due sends to sender nodes (send_config.go).
	Send SendConfig `yaml:"send"`
}

// ServerConfig is the embedded NATS server (tact serve --role nats).
type ServerConfig struct {
	// Name is this server's name, unique in the cluster (default: the
	// host name and client port).
	Name string `yaml:"name"`
	// Listen is the client address (default DefaultListen); port 0 picks
	// a free one.
	Listen string `yaml:"listen"`
	// Cluster is the cluster's name (default DefaultClusterName), the
	// same on every node.
	Cluster string `yaml:"cluster"`
	// ClusterListen is the address peers route to (e.g. "0.0.0.0:6222");
	// empty with no routes: a single server, no cluster.
	ClusterListen string `yaml:"cluster_listen"`
	// Routes are the peers' cluster addresses ("nats-route://host:6222").
	Routes []string `yaml:"routes"`
	// StoreDir is where JetStream keeps the streams (default
	// DefaultStoreDir).
	StoreDir string `yaml:"store_dir"`
	// SyncInterval is how often JetStream fsyncs: empty for the server's
	// default (2 minutes), a duration, or "always" (fsync every write; much
	// slower). See docs/scale-out.md on power loss.
	SyncInterval string `yaml:"sync_interval"`
}

// WithDefaults fills the unset fields.
func (c Config) WithDefaults() Config {
	if len(c.URLs) == 0 {
		c.URLs = []string{DefaultURL}
	}
	c.Stream = orDefault(c.Stream, DefaultStream)
	c.Subject = orDefault(c.Subject, DefaultSubject)
	c.Consumer = orDefault(c.Consumer, DefaultConsumer)
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	c.Server.Listen = orDefault(c.Server.Listen, DefaultListen)
	c.Server.Cluster = orDefault(c.Server.Cluster, DefaultClusterName)
	c.Server.StoreDir = orDefault(c.Server.StoreDir, DefaultStoreDir)
	c.Send = c.Send.withDefaults()
	return c
}

// ConfigError names the field of the cluster: section at fault.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "cluster." + e.Field + ": " + e.Msg }

// Validate checks c after WithDefaults.
func (c Config) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return &ConfigError{"replicas", fmt.Sprintf("%d (want 1 to 5)", c.Replicas)}
	case c.DuplicateWindow < time.Second:
		return &ConfigError{"duplicate_window", fmt.Sprintf("%s (want at least 1s)", c.DuplicateWindow)}
	case c.MaxAge < time.Hour:
		return &ConfigError{"max_age", fmt.Sprintf("%s (want at least 1h)", c.MaxAge)}
	case c.DuplicateWindow > c.MaxAge:
		return &ConfigError{"duplicate_window", fmt.Sprintf("%s is longer than max_age %s", c.DuplicateWindow, c.MaxAge)}
	case c.PublishTimeout < MinPublishTimeout:
		return &ConfigError{"publish_timeout", fmt.Sprintf("%s (want at least %s: longer than a leader election)", c.PublishTimeout, MinPublishTimeout)}
	case c.MaxPending < 1:
		return &ConfigError{"max_pending", fmt.Sprintf("%d (want at least 1)", c.MaxPending)}
	case c.BatchSize < 1 || c.BatchSize > 100_000:
		return &ConfigError{"batch_size", fmt.Sprintf("%d (want 1 to 100000)", c.BatchSize)}
	}
	for i, u := range c.URLs {
		if u == "" {
			return &ConfigError{fmt.Sprintf("urls[%d]", i), "empty"}
		}
	}
	if c.Token != "" && len(c.Token) < MinTokenLen {
		return &ConfigError{"token", fmt.Sprintf("shorter than %d characters", MinTokenLen)}
	}
	if err := c.Send.validate(); err != nil {
		return err
	}
	return c.Server.validate()
}

// MinTokenLen is the shortest cluster token accepted.
const MinTokenLen = 16

// ValidateNode checks c for the nats role: beyond loopback the server
// needs a token.
func (c Config) ValidateNode() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Token != "" {
		return nil
	}
	for field, v := range map[string]string{"server.listen": c.Server.Listen, "server.cluster_listen": c.Server.ClusterListen} {
		if v == "" {
			continue
		}
		a, _ := hostPort(field, v)
		if ip := net.ParseIP(a.host); a.host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return &ConfigError{"token", fmt.Sprintf("required when the NATS server listens beyond loopback (%s %s): the stream holds personal data", field, v)}
		}
	}
	return nil
}

func (s ServerConfig) validate() error {
	if _, err := hostPort("server.listen", s.Listen); err != nil {
		return err
	}
	if s.ClusterListen != "" {
		if _, err := hostPort("server.cluster_listen", s.ClusterListen); err != nil {
			return err
		}
	}
	if len(s.Routes) > 0 && s.ClusterListen == "" {
		return &ConfigError{"server.cluster_listen", "required with routes"}
	}
	if _, _, err := s.syncPolicy(); err != nil {
		return err
	}
	return nil
}

// syncPolicy is SyncInterval as the server's options: an interval (0 for
// the server's default) or always.
func (s ServerConfig) syncPolicy() (time.Duration, bool, error) {
	switch s.SyncInterval {
	case "":
		return 0, false, nil
	case "always":
		return 0, true, nil
	}
	d, err := time.ParseDuration(s.SyncInterval)
	if err != nil || d <= 0 {
		return 0, false, &ConfigError{"server.sync_interval", fmt.Sprintf("%q (want a positive duration such as 30s, or always)", s.SyncInterval)}
	}
	return d, false, nil
}

type addr struct {
	host string
	port int
}

func hostPort(field, v string) (addr, error) {
	h, p, err := net.SplitHostPort(v)
	if err != nil {
		return addr{}, &ConfigError{field, fmt.Sprintf("%q (want host:port)", v)}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return addr{}, &ConfigError{field, fmt.Sprintf("%q: port must be 0 to 65535", v)}
	}
	return addr{host: h, port: n}, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
