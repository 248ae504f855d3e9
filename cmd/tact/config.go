package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/cluster"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/server"
)

// Config is tact.yaml. Each section belongs to the package that uses it.
type Config struct {
	// Purposes adds purposes and notice versions to the built-in ones.
	Purposes []consent.Purpose `yaml:"purposes"`
	// DefaultRegion normalises phone numbers without a country code.
	DefaultRegion string `yaml:"default_region"`
	// Retention deletes events and traits older than their period
	// (tact privacy purge).
	Retention engine.RetentionPolicy `yaml:"retention"`
	// HashKey references the keyed-hash key ("file:PATH" or "env:NAME";
	// default $TACT_HASH_KEY, else the database path + ".key"). See
	// engine.Config.
	HashKey string `yaml:"hash_key"`
	// EventSkew is how far ahead of now an event timestamp may be
	// (default 24h); see engine.Config.
	EventSkew time.Duration `yaml:"event_skew"`
	// MemoryLimit caps DuckDB's memory (default 1GB) and Threads its
	// threads (default one per core); see engine.Config.
	MemoryLimit string `yaml:"memory_limit"`
	Threads     int    `yaml:"threads"`
	// CheckpointThreshold (default 256MB) and CheckpointQuiet (default 5s)
	// decide when DuckDB's log is checkpointed; see engine.Config.
	CheckpointThreshold string        `yaml:"checkpoint_threshold"`
	CheckpointQuiet     time.Duration `yaml:"checkpoint_quiet"`
	// Channels configures the email, SMS, push and webhook adapters.
	Channels channels.Config `yaml:"channels"`
	// Journeys is the send policy across journeys: frequency caps, quiet
	// hours, rate limits and the global holdout.
	Journeys journeys.PolicyConfig `yaml:"journeys"`
	// Server configures tact serve: listen address, tokens, limits.
	Server server.Config `yaml:"server"`
	// Cluster configures the roles of tact serve --role ingest|engine|sender|nats
	// (NATS JetStream; docs/scale-out.md). The default role, all, ignores it.
	Cluster cluster.Config `yaml:"cluster"`
}

// Engine is the engine's part of the configuration.
func (c *Config) Engine() engine.Config {
	return engine.Config{Purposes: c.Purposes, DefaultRegion: c.DefaultRegion, Retention: c.Retention,
		HashKey: c.HashKey, EventSkew: c.EventSkew, MemoryLimit: c.MemoryLimit, Threads: c.Threads,
		CheckpointThreshold: c.CheckpointThreshold, CheckpointQuiet: c.CheckpointQuiet}
}

// loadConfig reads path. A missing file is an error only when the path was
// given explicitly. Unknown keys are errors naming the line.
func loadConfig(path string, explicit bool) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(path, b)
}

func parseConfig(name string, b []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if _, err := consent.NewPolicy(cfg.Purposes); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &cfg, nil
}
