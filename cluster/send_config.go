package cluster

import (
	"fmt"
	"time"
)

// Defaults of SendConfig, documented on its fields.
const (
	DefaultSendStream         = "TACT_SENDS"
	DefaultSendSubject        = "tact.send"
	DefaultResultsBucket      = "TACT_SEND_RESULTS"
	DefaultEligibilitySubject = "tact.eligibility"
	DefaultSenderGroup        = "tact-senders"
	DefaultPartitions         = 8
	DefaultResultTTL          = 72 * time.Hour
	DefaultResultTimeout      = 2 * time.Minute
	DefaultEligibilityTimeout = 5 * time.Second
	DefaultPinnedTTL          = 5 * time.Second
	DefaultAckWait            = 2 * time.Minute
	DefaultSenderBatch        = 100
	DefaultHoldDelay          = 5 * time.Second
	maxPartitions             = 1024
	minResultTTL              = time.Hour
	minPinnedTTL              = time.Second
	minEligibilityTimeout     = 100 * time.Millisecond
	maxEligibilityTimeout     = time.Minute
)

// SendConfig is the cluster: section's send: part: the engine hands due
// sends to sender nodes (tact serve --role sender) through a stream
// instead of calling the providers itself.
type SendConfig struct {
	// Enabled makes the engine publish due sends to the send stream for
	// the senders (default false: the engine calls the providers itself,
	// as the single process does).
	Enabled bool `yaml:"enabled"`
	// Partitions is how many partitions the sends are split into by
	// person (default DefaultPartitions, 1 to 1024). Each partition has
	// one pinned sender at a time; give at least as many as senders.
	// Changing it moves people between partitions: change it with the
	// send stream drained.
	Partitions int `yaml:"partitions"`
	// Stream is the send stream (default DefaultSendStream); its subjects
	// are Subject.<partition> (default DefaultSendSubject).
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"`
	// Results is the key-value bucket the senders put each send's result
	// in, keyed by its idempotency key (default DefaultResultsBucket).
	Results string `yaml:"results"`
	// ResultTTL is how long a result is kept (default 72h, at least 1h):
	// a send retried within it is answered from the bucket instead of
	// reaching the provider again. Keep it above the journeys' longest
	// retry horizon.
	ResultTTL time.Duration `yaml:"result_ttl"`
	// ResultTimeout is how long the engine waits for a batch's results
	// (default 2m). Sends without one by then count as transient failures
	// and are retried with the same idempotency keys: a late result is
	// found in the bucket, and no provider is called twice for one.
	ResultTimeout time.Duration `yaml:"result_timeout"`
	// EligibilitySubject is where senders ask the engine for the
	// eligibility decision (default DefaultEligibilitySubject), within
	// EligibilityTimeout (default 5s); without an answer the sender holds
	// the send (fail closed) and retries after HoldDelay (default 5s).
	EligibilitySubject string        `yaml:"eligibility_subject"`
	EligibilityTimeout time.Duration `yaml:"eligibility_timeout"`
	HoldDelay          time.Duration `yaml:"hold_delay"`
	// Group is the priority group of the partitions' consumers (default
	// DefaultSenderGroup). A partition is pinned to one sender; when that
	// sender stops pulling for PinnedTTL (default 5s, at least 1s) another
	// takes it over, without a restart.
	Group     string        `yaml:"group"`
	PinnedTTL time.Duration `yaml:"pinned_ttl"`
	// AckWait is how long a sender may hold a send before the stream
	// offers it again (default 2m): above the slowest provider call of a
	// batch.
	AckWait time.Duration `yaml:"ack_wait"`
	// Batch is how many sends a sender takes from a partition at once
	// (default DefaultSenderBatch): the most a killed sender can leave in
	// flight per partition it held.
	Batch int `yaml:"batch"`
}

func (c SendConfig) withDefaults() SendConfig {
	c.Stream = orDefault(c.Stream, DefaultSendStream)
	c.Subject = orDefault(c.Subject, DefaultSendSubject)
	c.Results = orDefault(c.Results, DefaultResultsBucket)
	c.EligibilitySubject = orDefault(c.EligibilitySubject, DefaultEligibilitySubject)
	c.Group = orDefault(c.Group, DefaultSenderGroup)
	setDefault(&c.Partitions, DefaultPartitions)
	setDefault(&c.Batch, DefaultSenderBatch)
	setDefault(&c.ResultTTL, DefaultResultTTL)
	setDefault(&c.ResultTimeout, DefaultResultTimeout)
	setDefault(&c.EligibilityTimeout, DefaultEligibilityTimeout)
	setDefault(&c.HoldDelay, DefaultHoldDelay)
	setDefault(&c.PinnedTTL, DefaultPinnedTTL)
	setDefault(&c.AckWait, DefaultAckWait)
	return c
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (c SendConfig) validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > maxPartitions:
		return &ConfigError{"send.partitions", fmt.Sprintf("%d (want 1 to %d)", c.Partitions, maxPartitions)}
	case c.Batch < 1 || c.Batch > 10_000:
		return &ConfigError{"send.batch", fmt.Sprintf("%d (want 1 to 10000)", c.Batch)}
	case c.ResultTTL < minResultTTL:
		return &ConfigError{"send.result_ttl", fmt.Sprintf("%s (want at least %s)", c.ResultTTL, minResultTTL)}
	case c.ResultTimeout < time.Second:
		return &ConfigError{"send.result_timeout", fmt.Sprintf("%s (want at least 1s)", c.ResultTimeout)}
	case c.EligibilityTimeout < minEligibilityTimeout || c.EligibilityTimeout > maxEligibilityTimeout:
		return &ConfigError{"send.eligibility_timeout", fmt.Sprintf("%s (want %s to %s)", c.EligibilityTimeout, minEligibilityTimeout, maxEligibilityTimeout)}
	case c.HoldDelay < 100*time.Millisecond:
		return &ConfigError{"send.hold_delay", fmt.Sprintf("%s (want at least 100ms)", c.HoldDelay)}
	case c.PinnedTTL < minPinnedTTL:
		return &ConfigError{"send.pinned_ttl", fmt.Sprintf("%s (want at least %s)", c.PinnedTTL, minPinnedTTL)}
	case c.AckWait < time.Second:
		return &ConfigError{"send.ack_wait", fmt.Sprintf("%s (want at least 1s)", c.AckWait)}
	case c.AckWait <= c.EligibilityTimeout:
		return &ConfigError{"send.ack_wait", fmt.Sprintf("%s must exceed eligibility_timeout %s", c.AckWait, c.EligibilityTimeout)}
	}
	return nil
}
