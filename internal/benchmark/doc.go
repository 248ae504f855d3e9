// Package benchmark is `tact bench`: it measures Tact's data paths (import,
// ingestion, the send step, segment evaluation) and, in the same run, a
// reference for each that does the same work with the fewest moving parts
// (DuckDB reading the file itself, a Go handler that appends and fsyncs, a
// minimal outbox, a raw SMTP client, a hand-written query). Each side runs
// in a child process (the tact binary re-executed) so that its peak memory
// is its own; results come back as JSON on the child's standard output.
// docs/benchmarks.md explains how to read the figures.
package benchmark
