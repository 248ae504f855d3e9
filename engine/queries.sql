-- Named SQL blocks used by package engine.

-- name: identity-owners
-- Who holds the identifiers staged in _keys.
SELECT i.kind, i.value, i.profile_id, p.user_id
FROM identities i
JOIN _keys k ON k.kind = i.kind AND k.value = i.value
JOIN profiles p ON p.id = i.profile_id;

-- name: rebuild-consent-state
-- The current state of the profiles selected by the subquery (%[1]s): per
-- (profile, purpose, channel), the entries consent.Evaluate could still let
-- decide once every entry is effective. Within a key that is every entry
-- recorded no earlier than the key's latest denial (denial_at: supersession)
-- and not outranked (consent.Later, as consent.Precedence: %[2]s) by an entry of
-- the key recorded at the same instant or later; usually one row per key.
INSERT INTO consent_state
SELECT profile_id, purpose, channel, status, effective_at, expires_at, notice_version, seq, recorded_at, denial_at
FROM (
    SELECT *, max(prec) OVER (PARTITION BY profile_id, purpose, channel ORDER BY recorded_at DESC
                              RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS best_since
    FROM (
        SELECT *, %[2]s AS prec,
               max(CASE WHEN status <> 'granted' THEN recorded_at END) OVER (PARTITION BY profile_id, purpose, channel) AS denial_at
        FROM consent_ledger
        WHERE profile_id IN (%[1]s)
    )
    WHERE denial_at IS NULL OR recorded_at >= denial_at
)
WHERE prec = best_since;

-- name: stored-events
-- Leaves out the staged events (_ev) whose message id was stored before,
-- ahead of identity resolution: whether an id was stored is event_ids'
-- answer on every path (HTTP ingestion asks its primary key the same
-- question, ingest.sql), and its hashes outlive their events, so an event
-- replayed after retention or erasure deleted it changes nothing, not
-- even who is known. One hash per distinct message id.
DELETE FROM _ev WHERE message_id IN (
    SELECT message_id FROM (SELECT DISTINCT message_id FROM _ev) d
    WHERE md5_number(d.message_id) IN (SELECT id_hash FROM event_ids));

-- name: stored-events-runs
-- After stored-events, for a stage whose _idrows holds runs (the row
-- path's): the runs no staged row is in any more. An _idrows row starts a
-- run of rows that share its set (until the next one starts), so each
-- remaining row is in the run that starts last at or before it.
DELETE FROM _idrows WHERE _row NOT IN (
    SELECT DISTINCT r._row FROM _ev e ASOF JOIN _idrows r ON e._row >= r._row);

-- name: first-events
-- The staged rows to store, once stored-events has left out the message
-- ids stored before: per message id its first row (a message id repeated
-- within the input is stored once), with the hash event_ids keeps of it.
-- The first rows are found by grouping the message ids alone: a window
-- over whole rows had to hold every event's properties at once and ran
-- out of memory_limit on a 6.4M-event file. insert-events and
-- register-event-ids both read this one grouping.
CREATE OR REPLACE TEMP TABLE _evfirst AS
SELECT min(_row) AS _row, md5_number(message_id) AS id_hash
FROM _ev
GROUP BY message_id;

-- name: insert-events
-- The first rows (_evfirst), attached through their primary identifier.
-- Every staged row's primary identifier is held by then (the profiles
-- were upserted first): the caller checks that the join dropped none.
INSERT INTO events (profile_id, event, ts, properties, message_id, received_at, source, context)
SELECT i.profile_id, s.event, s.ts, s.properties::JSON, s.message_id, ?::TIMESTAMP, ?, s.context::JSON
FROM _ev s
JOIN identities i ON i.kind = s._pkind AND i.value = s._pvalue
WHERE s._row IN (SELECT _row FROM _evfirst);

-- name: register-event-ids
-- The message ids insert-events stored, as event_ids hashes: every path
-- that stores an event registers its id, and stored-events asks them.
INSERT INTO event_ids
SELECT id_hash FROM _evfirst
ON CONFLICT DO NOTHING;

-- name: append-ledger
-- Appends staged consent entries (stage named by %[1]s, with profile_id)
-- not already in the ledger, each entry key once (its first row), numbering
-- them after the last entry in input order. The windows run over row
-- numbers alone: over whole rows they held every entry at once and ran out
-- of memory_limit on a 5.3M-entry file. An entry key is either in the
-- ledger for all its rows or for none, so taking the first row before or
-- after leaving out stored keys is the same.
INSERT INTO consent_ledger
SELECT (SELECT coalesce(max(seq), 0) FROM consent_ledger) + k.n,
       s.profile_id, s.purpose, s.channel, s.status, s.effective_at, ?::TIMESTAMP, s.expires_at,
       s.notice_version, s.source, s.actor, s.entry_key
FROM %[1]s s
JOIN (
    SELECT _row, row_number() OVER (ORDER BY _row) AS n
    FROM %[1]s
    WHERE entry_key NOT IN (SELECT entry_key FROM consent_ledger)
      AND _row IN (SELECT min(_row) FROM %[1]s GROUP BY entry_key)
) k ON k._row = s._row;

-- name: counts
SELECT (SELECT count(*) FROM profiles),
       (SELECT count(*) FROM identities),
       (SELECT count(*) FROM traits),
       (SELECT count(*) FROM events),
       (SELECT count(*) FROM merges WHERE action = 'merge'),
       (SELECT count(*) FROM merges WHERE action = 'conflict'),
       (SELECT count(*) FROM consent_ledger),
       (SELECT count(*) FROM suppressions);

-- name: append-merge-log
INSERT INTO merges
SELECT * FROM _mlog l
WHERE NOT EXISTS (
    SELECT 1 FROM merges m
    WHERE m.action = l.action AND m.profile_id = l.profile_id AND m.other_id = l.other_id
      AND m.identifier_kind = l.identifier_kind AND m.identifier_hash = l.identifier_hash);

-- name: read-csv-raw
-- A CSV file (the parameter) as text, one VARCHAR column per input column
-- (the placeholder: the columns struct, c0, c1, …), the header skipped, an empty field
-- NULL, rows in file order. Nothing is sniffed: the importer decides types.
CREATE TEMP TABLE _raw AS
SELECT * FROM read_csv(?, header = false, skip = 1, delim = ',', quote = '"', escape = '"',
                       columns = %s, auto_detect = false, null_padding = false);

-- name: stage-keys
-- The distinct identifiers of a profile stage (the first placeholder: one
-- SELECT of _row, k, value per identity kind, joined by UNION ALL), each
-- with a key id (numbered as DuckDB groups them, so that resolution runs
-- over integers: resolve.go), its kind (index k into the list of identity
-- kinds, the second placeholder, and its name), value, and the first row it
-- appears on (where resolution links a new identifier).
CREATE OR REPLACE TEMP TABLE _keys AS
SELECT row_number() OVER ()::INTEGER AS kid, k, %[2]s[k + 1] AS kind, value, first_row
FROM (SELECT k, value, min(_row) AS first_row FROM (%[1]s) GROUP BY k, value);

-- name: key-occurrences
-- Each row's identifiers (the placeholder as in stage-keys) as key ids.
SELECT o._row, o.k, ky.kid
FROM (%s) o JOIN _keys ky ON ky.k = o.k AND ky.value = o.value;

-- name: key-holders
-- Who already holds the identifiers of _keys: the profile, and its user_id
-- as an integer equal for equal user_ids (the user_id's key id when the
-- input has it, else a negative rank; 0 when the profile has none).
SELECT k.kid, i.profile_id,
       (CASE WHEN p.user_id IS NULL THEN 0
             WHEN u.kid IS NOT NULL THEN u.kid
             ELSE -dense_rank() OVER (PARTITION BY p.user_id IS NULL, u.kid IS NULL ORDER BY p.user_id) END)::BIGINT AS uid
FROM _keys k
JOIN identities i ON i.kind = k.kind AND i.value = k.value
JOIN profiles p ON p.id = i.profile_id
LEFT JOIN _keys u ON u.k = 0 AND u.value = p.user_id;

-- name: new-keys
-- The key ids of _keys that nobody holds yet (ids only: _keys has the rest).
CREATE OR REPLACE TEMP TABLE _newkeys AS
SELECT kid FROM _keys k
WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.kind = k.kind AND i.value = k.value);

-- name: new-keys-range
-- The new identifiers whose key ids lie in a range (the parameters, twice):
-- both sides are cut to the range before the join, so that reading the new
-- keys a range at a time never builds a join over all of them.
SELECT k.kid, k.k, k.value
FROM _keys k
SEMI JOIN (SELECT kid FROM _newkeys WHERE kid BETWEEN ? AND ?) n USING (kid)
WHERE k.kid BETWEEN ? AND ?;

-- name: insert-new-identities
-- The new identities: each identifier of _newkeys linked to the profile of
-- the row it first appears on (_map), as resolution links them, with its
-- keyed hash (_khash, as bytes: HashIdentifier is their lower-case hex).
INSERT INTO identities (profile_id, kind, value, value_hash, source, first_seen_at)
SELECT m.profile_id, f.kind, f.value, lower(hex(h.value_hash)),
       ?::VARCHAR || ':' || m._line AS source, ?::TIMESTAMP AS first_seen_at
FROM _newkeys JOIN _keys f USING (kid) JOIN _khash h USING (kid) JOIN _map m ON m._row = f.first_row;

-- name: id-sets
-- The distinct identifier sets of an events or consents input: _idrows
-- holds the set of every row whose set differs from the row before's (the
-- placeholder lists the identity columns); each set is kept once, with the
-- row and the line it first appears on.
CREATE OR REPLACE TEMP TABLE _idsets AS
SELECT %[1]s, min(_row) AS first_row, arg_min(_line, _row) AS _line
FROM _idrows GROUP BY %[1]s;

-- name: id-set-order
-- The sets of _idsets numbered from 0 in order of first appearance. The
-- window sorts the first rows alone: over whole sets it held them all
-- outside memory_limit (some 300 MB at a million sets).
CREATE OR REPLACE TEMP TABLE _idorder AS
SELECT first_row, (row_number() OVER (ORDER BY first_row) - 1)::BIGINT AS _row
FROM _idsets;

-- name: consent-rebuild-ranges
-- Splits the profiles the subquery selects (%[1]s) into ranges of profile
-- ids whose ledger holds about %[2]d entries each: the largest id of each
-- range, in order (none when they have no entries).
SELECT max(profile_id)
FROM (SELECT profile_id, sum(n) OVER (ORDER BY profile_id) AS upto
      FROM (SELECT profile_id, count(*) AS n FROM consent_ledger
            WHERE profile_id IN (%[1]s) GROUP BY profile_id))
GROUP BY (upto - 1) // %[2]d
ORDER BY 1;
