// Package cluster runs Tact past one machine on NATS JetStream linked into
// the tact binary (docs/scale-out.md). It owns the cluster: section of
// tact.yaml, the embedded NATS server of the nats role, the events stream,
// the publisher an ingest node writes through instead of DuckDB (it
// implements the server's Importer and Ingester seams), the engine's
// consumer that writes the stream into the store exactly once (stream
// position plus message-id de-duplication), and their metrics.
//
// The single-process default (tact serve --role all) uses none of it.
package cluster
