-- Named SQL blocks used by package engine.

-- name: identity-owners
-- Who holds the identifiers staged in _keys.
SELECT i.kind, i.value, i.profile_id, p.user_id
FROM identities i
JOIN _keys k ON k.kind = i.kind AND k.value = i.value
JOIN profiles p ON p.id = i.profile_id;

-- name: rebuild-consent-state
-- The latest entry per (profile, purpose, channel) for the profiles selected
-- by the %s subquery. Precedence matches consent.Later: effective instant,
-- then denial before grant, then append order.
INSERT INTO consent_state
SELECT profile_id, purpose, channel, status, effective_at, expires_at, notice_version, seq
FROM consent_ledger
WHERE profile_id IN (%s)
QUALIFY row_number() OVER (
    PARTITION BY profile_id, purpose, channel
    ORDER BY effective_at DESC, (status <> 'granted') DESC, seq DESC) = 1;

-- name: insert-events
-- Staged events attached through their primary identifier; a message id
-- already stored, or repeated within the input, is stored once.
INSERT INTO events
SELECT i.profile_id, s.event, s.ts, s.properties::JSON, s.message_id, ?::TIMESTAMP, ?
FROM _ev s
JOIN identities i ON i.kind = s._pkind AND i.value = s._pvalue
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id)
QUALIFY row_number() OVER (PARTITION BY s.message_id ORDER BY s._row) = 1;

-- name: append-ledger
-- Appends staged consent entries (stage named by %s, with profile_id) not
-- already in the ledger, numbering them after the last entry in input order.
INSERT INTO consent_ledger
SELECT (SELECT coalesce(max(seq), 0) FROM consent_ledger) + row_number() OVER (ORDER BY s._row),
       s.profile_id, s.purpose, s.channel, s.status, s.effective_at, ?::TIMESTAMP, s.expires_at,
       s.notice_version, s.source, s.actor, s.entry_key
FROM (
    SELECT * FROM %s
    WHERE entry_key NOT IN (SELECT entry_key FROM consent_ledger)
    QUALIFY row_number() OVER (PARTITION BY entry_key ORDER BY _row) = 1
) s;

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
