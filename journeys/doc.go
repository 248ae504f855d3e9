// Package journeys runs versioned, multi-step customer journeys (docs/journeys.md)
// set-based over the engine's DuckDB store.
//
// # Specs and versions
//
// A journey is a YAML document (format: testdata/journeys/README.md):
// a name, a purpose, an entry (segment, event, schedule or api), a
// re-entry rule, an optional goal and exit condition, and a graph of steps
// (send, wait, branch, split, update, webhook, exit). Parse validates a
// document and reports every problem with its path and line. Publish stores
// it as the next immutable version; people already inside finish on the
// version they entered.
//
// # Set-based runner
//
// People inside journeys are rows of journey_instances. Each Tick handles
// every journey: entries due now, withdrawals, satisfied waits, then every
// step with people due, all in bulk — one query selects everyone due at a
// step with what the step needs (address, flags, suppression, the consent
// decision of engine/consent's SQL form, recent sends for caps), policy runs
// in Go over the rows, and the results go back with DuckDB's Appender and a
// few set-based statements. A million people waiting at a wait step move
// with one INSERT … SELECT (the step log) and one UPDATE.
//
// # Outbox
//
// A send step writes one journey_outbox row per message, in the same
// transaction that moves the person on, before any provider call; the
// idempotency key is channels.NewIdempotencyKey(journey, version,
// step#visit/instance, profile, slot). Dispatch sends outbox rows without a result through their
// channel in batches: each batch is marked in flight (journey_inflight)
// before the provider call and its outcomes appended to journey_results
// right after. A row without a result is resent after a crash with the
// same key (logged as resent), so nothing is lost, at most the batch in
// flight is sent twice, and a provider that honours the key sees no
// duplicate. Transient failures retry with exponential
// backoff; permanent ones stop, suppressing the address on a hard bounce.
//
// # Consent at every send
//
// Consent is decided only by engine/consent: set-based when the outbox row
// is written, and again right before the provider call by the gate (the
// Runner's Gate, which channel adapters call per message): people whose
// ledger, flags or suppressions changed since are re-decided, set-based per
// batch and one by one after that. A withdrawal skips the send with reason
// withdrawn and ends the person's pending steps of the journey. Every skip
// or hold is in journey_log with one of the Reason* values.
//
// # Scheduler
//
// robfig/cron only computes slots (ParseCron never panics). The last slot
// fired per schedule is persisted in journey_schedules and each (schedule,
// slot) is claimed once in journey_slot_claims in the same transaction as
// the entries it creates, so a restart neither loses nor repeats a slot;
// missed slots follow the entry's policy (run_once within a deadline, or
// skip) and are counted. Scheduler owns the loop: a failing journey is
// marked unhealthy and the others go on. Time comes from an injected clock.
//
// bridge.Adapter lets the store satisfy package channels' Gate,
// ConsentRecorder and FeedbackSink interfaces (the engine never imports
// channels).
package journeys
