-- The message ids of stored events, as 128-bit hashes (md5_number) under a
-- primary key, so that HTTP ingestion de-duplicates a batch with ART point
-- lookups (INSERT … ON CONFLICT DO NOTHING) instead of scanning
-- events.message_id on every group commit (docs/architecture.md,
-- "Ingestion"). A hash of a message id says nothing about a person; it
-- outlives the event (retention, erasure) so that a replay of an old
-- message is still recognised.
CREATE TABLE event_ids (
    id_hash HUGEINT PRIMARY KEY
);

INSERT INTO event_ids SELECT DISTINCT md5_number(message_id) FROM events;
