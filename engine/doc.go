// Package engine is Tact's store: one DuckDB database (a file or memory)
// holding unified profiles with typed traits, their identities and merge
// log, events, the append-only consent ledger with its current-state table,
// and the suppression list. It owns the schema (migrations/*.sql, applied
// once each), bulk import of CSV, JSONL and Parquet, identity resolution,
// and the single-person consent decision (through package consent).
//
// Writes are serialised through one transaction at a time and go through
// DuckDB's Appender or set-based SQL, never row-by-row inserts. An import
// is all-or-nothing: every row is validated before anything is written, and
// a failure leaves the database unchanged.
//
// Identity resolution: rows that share a user_id, email, phone,
// anonymous_id or device_token are one profile, except that a profile never
// holds two different user_ids; such a link is refused and recorded in the
// merge log (as keyed hashes, never the identifier itself). When profiles
// merge, the oldest survives and the others' identities, events and consent
// entries move to it; each trait takes its most recent non-missing value.
//
// Tables other packages may read: profiles (id, user_id, email, phone,
// timezone, restricted, objected, first_seen_at, updated_at, then one
// column per trait, see Traits), identities (profile_id, kind, value,
// value_hash), events (profile_id, event, ts, properties JSON, message_id),
// consent_ledger, consent_state and suppressions (addr_hash = HashIdentifier).
// Every table with a profile_id column is listed in ProfileTables, so that
// merges and erasure reach it.
package engine
