package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SendStreamConfig is the send stream: a work queue (a send leaves it once
// a sender acknowledged it), de-duplicated on the idempotency key, split
// into the partitions' subjects.
func (c Config) SendStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Send.Stream,
		Description: "Tact due sends, by partition (docs/scale-out.md)",
		Subjects:    []string{c.Send.Subject + ".*"},
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		MaxAge:      c.MaxAge,
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardOld,
	}
}

// ResultsConfig is the results bucket: one result per idempotency key,
// kept ResultTTL.
func (c Config) ResultsConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      c.Send.Results,
		Description: "Tact send results by idempotency key (docs/scale-out.md)",
		History:     1,
		TTL:         c.Send.ResultTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	}
}

// partitionSubject is the subject of partition p's sends.
func (c Config) partitionSubject(p int) string { return c.Send.Subject + "." + strconv.Itoa(p) }

// partitionConsumer is the durable consumer of partition p: pinned to one
// sender of the priority group at a time.
func (c Config) partitionConsumer(p int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        "tact-send-" + strconv.Itoa(p),
		Description:    "Tact sender partition " + strconv.Itoa(p),
		FilterSubject:  c.partitionSubject(p),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.Send.AckWait,
		MaxAckPending:  c.Send.Batch * 2,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{c.Send.Group},
		PinnedTTL:      c.Send.PinnedTTL,
		Replicas:       c.Replicas,
	}
}

// ensureSend creates the send stream and the results bucket, or brings
// their settings to the configuration's, retrying until ctx ends (a
// starting cluster may have no meta leader yet).
func (c *Conn) ensureSend(ctx context.Context) (jetstream.KeyValue, error) {
	for {
		kv, err := c.trySend(ctx)
		if err == nil {
			return kv, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: send stream %s: %w", c.cfg.Send.Stream, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Conn) trySend(ctx context.Context) (jetstream.KeyValue, error) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.js.CreateOrUpdateStream(actx, c.cfg.SendStreamConfig()); err != nil {
		return nil, err
	}
	return c.js.CreateOrUpdateKeyValue(actx, c.cfg.ResultsConfig())
}
