-- Named SQL blocks of the ingestion path (ingest_events.go). The staged
-- batch is _ev; every join below has the batch on its small side.

-- name: ingest-owners
-- Who holds the batch's identifiers (_evkeys), one row per known
-- identifier. (_evkeys, not _keys: resolution replaces _keys with its own.)
-- One join per kind: each then gives DuckDB its kind and the range of its
-- values to skip parts of identities by, where one join over a batch that
-- mixes user ids and anonymous ids spanned every kind and read all of it.
-- The last join covers any other kind (none today).
CREATE OR REPLACE TEMP TABLE _evowner AS
SELECT i.kind, i.value, i.profile_id
FROM (SELECT value FROM _evkeys WHERE kind = 'user_id') k
JOIN identities i ON i.kind = 'user_id' AND i.value = k.value
UNION ALL
SELECT i.kind, i.value, i.profile_id
FROM (SELECT value FROM _evkeys WHERE kind = 'anonymous_id') k
JOIN identities i ON i.kind = 'anonymous_id' AND i.value = k.value
UNION ALL
SELECT i.kind, i.value, i.profile_id
FROM (SELECT kind, value FROM _evkeys WHERE kind NOT IN ('user_id', 'anonymous_id')) k
JOIN identities i ON i.kind = k.kind AND i.value = k.value;

-- name: ingest-unresolved
-- Rows whose identifiers are not all held by one existing profile, with
-- their identifiers: they need resolution (a new profile, a new identity
-- or a merge). The others' owners are known, and resolution would only
-- read their profiles back unchanged.
SELECT e._row, e.user_id, e.anonymous_id
FROM _ev e
LEFT JOIN _evowner u ON u.kind = 'user_id' AND u.value = e.user_id
LEFT JOIN _evowner a ON a.kind = 'anonymous_id' AND a.value = e.anonymous_id
WHERE (e.user_id IS NOT NULL AND u.profile_id IS NULL)
   OR (e.anonymous_id IS NOT NULL AND a.profile_id IS NULL)
   OR (u.profile_id IS DISTINCT FROM a.profile_id AND u.profile_id IS NOT NULL AND a.profile_id IS NOT NULL)
ORDER BY e._row;

-- name: ingest-register-ids
-- Registers the message ids staged in the table the placeholder names (a
-- batch's events, _ev, or its identify and alias rows, _pmsg: one table of
-- message ids, whatever the message); only the ones not stored before come
-- back. The primary key
-- makes each check an index lookup.
INSERT INTO event_ids
SELECT DISTINCT md5_number(message_id) FROM %s
ON CONFLICT DO NOTHING
RETURNING id_hash::VARCHAR;

-- name: ingest-insert-events
-- The batch's new events, attached through their primary identifier, the
-- first row of a message id repeated within the batch.
INSERT INTO events (profile_id, event, ts, properties, message_id, received_at, source, context)
SELECT o.profile_id, s.event, s.ts, s.properties::JSON, s.message_id, ?::TIMESTAMP, ?, s.context::JSON
FROM _ev s
JOIN _fresh f ON f.id_hash = md5_number(s.message_id)::VARCHAR
JOIN _evowner o ON o.kind = s._pkind AND o.value = s._pvalue
QUALIFY row_number() OVER (PARTITION BY s.message_id ORDER BY s._row) = 1;

-- name: ingest-keys-restage
-- _evkeys again from the rows still staged, once the rows stored before
-- are left out (dropStoredEvents): what the batch mentions is what the
-- trust rules read. The arguments are the kinds of user_id and
-- anonymous_id.
DELETE FROM _evkeys;
INSERT INTO _evkeys
SELECT DISTINCT ?, user_id FROM _ev WHERE user_id IS NOT NULL
UNION
SELECT DISTINCT ?, anonymous_id FROM _ev WHERE anonymous_id IS NOT NULL;

-- name: ingest-profile-ids-first
-- The first row of each message id among the profile rows, with its hash.
SELECT _row, md5_number(message_id)::VARCHAR
FROM _pmsg
QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY _row) = 1;

-- name: warm-event-ids
-- Probes event_ids' primary key with random hashes, as
-- ingest-register-ids probes it with a batch's message ids (WarmIngestion,
-- which rolls the transaction back). %d is how many.
INSERT INTO event_ids
SELECT md5_number('warm-' || i || '-' || random()) FROM range(%d) t(i)
ON CONFLICT DO NOTHING;
