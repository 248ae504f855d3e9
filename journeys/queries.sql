-- SQL of package journeys, one named block per statement (listmonk style).
-- Blocks with %[n]s verbs are completed with fmt.Sprintf from trusted,
-- code-built fragments only (the consent relation from engine, column
-- expressions chosen by channel); every value is a bind parameter.

-- name: latest_version
SELECT version, source_hash, published_at FROM journey_versions WHERE journey = ? ORDER BY version DESC LIMIT 1;

-- name: insert_version
INSERT INTO journey_versions VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: update_journey_version
UPDATE journeys SET current_version = ?, updated_at = ? WHERE name = ?;

-- name: insert_journey
INSERT INTO journeys (name, current_version, state, health, updated_at) VALUES (?, ?, 'active', 'ok', ?);

-- name: version_source
SELECT source FROM journey_versions WHERE journey = ? AND version = ?;

-- name: list_journeys
SELECT j.name, j.current_version, j.state, j.health, j.last_error, j.last_run_at, j.missed_slots, v.purpose, v.entry_kind
FROM journeys j JOIN journey_versions v ON v.journey = j.name AND v.version = j.current_version
ORDER BY j.name;

-- name: list_versions
SELECT v.version, v.published_at, count(i.id)
FROM journey_versions v
LEFT JOIN journey_instances i ON i.journey = v.journey AND i.version = v.version AND i.status = 'active'
WHERE v.journey = ?
GROUP BY v.version, v.published_at
ORDER BY v.version;

-- name: set_state
UPDATE journeys SET state = ?, updated_at = ? WHERE name = ?;

-- name: stats_log
SELECT step, kind, reason, count(*) FROM journey_log WHERE journey = ? GROUP BY ALL ORDER BY ALL;

-- name: stats_instances
SELECT step, status, count(*) FROM journey_instances WHERE journey = ? GROUP BY ALL ORDER BY ALL;

-- name: stats_pending
SELECT o.step, count(*) FROM journey_outbox o
LEFT JOIN (SELECT outbox_id, arg_max(status, attempt) AS status FROM journey_results GROUP BY outbox_id) l ON l.outbox_id = o.id
WHERE o.journey = ? AND (l.status IS NULL OR l.status IN ('transient', 'held'))
GROUP BY ALL ORDER BY ALL;

-- name: enter_instances
-- Candidates are in _jcand. Restricted people never enter; objected people
-- do not enter marketing journeys; re-entry: always, never (no earlier
-- instance), or after (none active and the last entry old enough). Ids
-- follow the candidates' order (writes are serialised).
INSERT INTO journey_instances
SELECT ?::BIGINT + row_number() OVER (ORDER BY c.ord), ?::VARCHAR, ?::INTEGER, c.profile_id, 'active', ?::VARCHAR, 0, ?::TIMESTAMP, NULL, c.slot, ?::TIMESTAMP, c.ref, c.payload, NULL, NULL, NULL
FROM (SELECT *, row_number() OVER (PARTITION BY profile_id ORDER BY ord) AS rn FROM _jcand) c
JOIN profiles p ON p.id = c.profile_id
LEFT JOIN (SELECT profile_id, max(entered_at) AS last_entered, bool_or(status = 'active') AS active
           FROM journey_instances WHERE journey = ? GROUP BY profile_id) e ON e.profile_id = c.profile_id
WHERE NOT p.restricted AND NOT (?::BOOLEAN AND p.objected)
  AND CASE ?::VARCHAR
        WHEN 'always' THEN true
        WHEN 'never' THEN e.profile_id IS NULL AND c.rn = 1
        ELSE c.rn = 1 AND (e.profile_id IS NULL OR (NOT e.active AND e.last_entered <= ?::TIMESTAMP))
      END
ORDER BY c.ord;

-- name: log_entered
INSERT INTO journey_log SELECT ?::TIMESTAMP, journey, version, step, profile_id, id, 'entered', NULL, NULL FROM journey_instances WHERE journey = ? AND id > ?;

-- name: due_at_step
journey = ? AND version = ? AND step = ? AND status = 'active' AND due_at <= ? %s

-- name: due_at_step_i
i.journey = ? AND i.version = ? AND i.step = ? AND i.status = 'active' AND i.due_at <= ? %s

-- name: due_steps
SELECT DISTINCT step FROM journey_instances WHERE journey = ? AND version = ? AND status = 'active' AND due_at <= ? ORDER BY step;

-- name: apply_moves
UPDATE journey_instances SET
    step = m.step,
    seq = journey_instances.seq + CASE WHEN m.stay THEN 0 ELSE 1 END,
    due_at = m.due_at,
    wait_since = CASE WHEN m.stay THEN journey_instances.wait_since ELSE NULL END,
    status = m.status,
    exit_reason = CASE WHEN m.status = 'active' THEN NULL ELSE m.reason END,
    held_reason = CASE WHEN m.status = 'active' AND m.stay AND m.kind = 'held' THEN m.reason END,
    finished_at = CASE WHEN m.status = 'active' THEN NULL ELSE ?::TIMESTAMP END
FROM _jmove m
WHERE journey_instances.id = m.id;

-- name: drop_stale_queued
-- The sends of _jout whose instance is no longer active at the visit
-- send_due read (another writer ended or moved it in between): neither
-- queued nor moved. The instances searched are those of the sends' id
-- range (the two arguments), not every instance.
DELETE FROM _jout WHERE NOT EXISTS (
    SELECT 1 FROM journey_instances i
    WHERE i.id = _jout.instance_id AND i.seq = _jout.seq AND i.status = 'active'
      AND i.id BETWEEN ?::BIGINT AND ?::BIGINT
);

-- name: drop_stale_moves
-- The moves of _jmove whose instance is no longer active (another writer
-- ended or erased it since it was read): not applied, not logged. Only
-- the instances of the moves' id range (the two arguments) are searched.
DELETE FROM _jmove WHERE id NOT IN (
    SELECT id FROM journey_instances
    WHERE id BETWEEN ?::BIGINT AND ?::BIGINT AND status = 'active'
);

-- name: log_moved
-- Log rows staged in _jlog, of the instances whose moves applied (those
-- drop_stale_moves left in _jmove).
INSERT INTO journey_log SELECT * FROM _jlog WHERE instance_id IN (SELECT id FROM _jmove);

-- name: log_remaining
-- Log rows staged in _jlog, of the instances that still exist (their ids
-- are within the two arguments): an erasure removes a person's instances.
INSERT INTO journey_log SELECT * FROM _jlog
WHERE instance_id IN (SELECT id FROM journey_instances WHERE id BETWEEN ?::BIGINT AND ?::BIGINT);

-- name: apply_queued
-- The one move of every send queued in _jout: seq, due_at and status (%s:
-- and the step when it changes, finished_at when the move ends the
-- journey; code-built, every value a bind parameter).
UPDATE journey_instances SET seq = journey_instances.seq + 1, due_at = ?::TIMESTAMP, status = ?::VARCHAR%s
FROM _jout j
WHERE journey_instances.id = j.instance_id;

-- name: tidy_queued
-- What apply_moves also sets for such a move (wait_since, exit_reason and
-- held_reason NULL; finished_at NULL while active), on the instances of
-- _jout where it is not so already.
UPDATE journey_instances SET wait_since = NULL, exit_reason = NULL, held_reason = NULL,
    finished_at = CASE WHEN status = 'active' THEN NULL ELSE finished_at END
WHERE id IN (SELECT instance_id FROM _jout)
  AND (wait_since IS NOT NULL OR exit_reason IS NOT NULL OR held_reason IS NOT NULL OR (status = 'active' AND finished_at IS NOT NULL));

-- name: log_queued
-- The log row of every move applied by apply_queued (at, journey, version,
-- step, kind).
INSERT INTO journey_log SELECT ?::TIMESTAMP, ?::VARCHAR, ?::INTEGER, ?::VARCHAR, j.profile_id, j.instance_id, ?::VARCHAR, NULL, NULL FROM _jout j;

-- name: log_moves
INSERT INTO journey_log SELECT ?::TIMESTAMP, ?::VARCHAR, ?::INTEGER, m.step, m.profile_id, m.id, m.kind, m.reason, NULL FROM _jmove m WHERE m.kind IS NOT NULL;

-- name: withdrawal_candidates
-- People inside who have a withdrawal of the journey's purpose that took
-- effect since they entered; Go re-decides them through engine/consent.
SELECT i.id, i.profile_id, i.step FROM journey_instances i
WHERE i.journey = ? AND i.version = ? AND i.status = 'active'
  AND EXISTS (SELECT 1 FROM consent_ledger l
              WHERE l.profile_id = i.profile_id AND l.status = 'withdrawn'
                AND l.purpose IN (?, '*') AND l.effective_at >= i.entered_at AND l.effective_at <= ?)
ORDER BY i.id;

-- name: event_arrived
AND wait_since IS NOT NULL AND EXISTS (SELECT 1 FROM events e WHERE e.profile_id = journey_instances.profile_id AND e.event = ? AND e.ts >= journey_instances.wait_since)

-- name: send_due
-- Everyone due at a send step with the eligibility decision's person-level
-- reason and address (%[1]s: engine.EligibilitySQL over the CTE people)
-- and what the send policy needs, read only when the channel's policy uses
-- it: zone and phone for quiet hours and caps (%[2]s: pp.timezone,
-- pp.phone or NULLs), their recent marketing sends on the channel for caps
-- in their local day (%[3]s: recent.sent or a NULL), and the joins these
-- read (%[4]s).
WITH due AS MATERIALIZED (
    SELECT id, profile_id, seq, slot FROM journey_instances
    WHERE journey = ? AND version = ? AND step = ? AND status = 'active' AND due_at <= ?
),
people AS MATERIALIZED (
    SELECT id, restricted, objected, email, phone, timezone FROM profiles WHERE id IN (SELECT profile_id FROM due)
)
SELECT d.id, d.profile_id, d.seq, d.slot, %[2]s, e.reason, e.address, %[3]s
FROM due d
JOIN (%[1]s) e ON e.profile_id = d.profile_id
%[4]s
ORDER BY d.id;

-- name: recent_sends
-- Marketing sends on a channel since an instant that count towards caps,
-- for the people of %[1]s, leaving out the outbox rows %[2]s (a retry does
-- not count against itself). A fragment: no semicolon, send_due embeds it.
SELECT o.profile_id, list(o.created_at) AS sent FROM journey_outbox o
WHERE o.channel = ? AND o.marketing AND o.created_at >= ? AND o.profile_id IN (%[1]s) AND o.id NOT IN (%[2]s)
  AND NOT EXISTS (SELECT 1 FROM journey_results r WHERE r.outbox_id = o.id AND r.status IN ('failed', 'skipped'))
GROUP BY o.profile_id

-- name: release_restricted
-- Instances held because their person was restricted, due again now that
-- the restriction is lifted.
UPDATE journey_instances SET due_at = ?, held_reason = NULL
WHERE journey = ? AND status = 'active' AND held_reason = 'restricted'
  AND profile_id IN (SELECT id FROM profiles WHERE NOT restricted);

-- name: outbox_due
-- Sends with no result yet (never tried, or in flight when a process died)
-- or whose last attempt failed transiently or was held (a retry inside
-- quiet hours) and is due again, in outbox order after a cursor (the last
-- row of the previous page). attempts numbers the results; tries counts
-- the provider calls among them; interrupted says a process died while the
-- send was in flight (journey_inflight). The page's ids are chosen first
-- without aggregating results: a send is undecided when it has no result,
-- or when a transient or held result is due and no later attempt follows
-- it; so the results read are one integer column and the few transient or
-- held rows, not an aggregate over every result ever written (which every
-- tick paid, idle or not). Only the page's own results are aggregated;
-- then the page is joined with what the messages need (%[5]s: the trait
-- columns of p, or nothing). Only instances with a payload are joined:
-- most have none, and finding them scans one column, where joining every
-- instance built a hash table of the whole instance table.
WITH ids AS MATERIALIZED (
    SELECT id FROM (
        SELECT o.id FROM journey_outbox o
        ANTI JOIN (SELECT outbox_id FROM journey_results WHERE outbox_id > ?) r ON r.outbox_id = o.id
        WHERE o.id > ? AND o.channel IN (%[3]s) %[4]s
        UNION ALL
        SELECT o.id FROM journey_results r
        JOIN journey_outbox o ON o.id = r.outbox_id
        WHERE r.outbox_id > ? AND r.status IN ('transient', 'held') AND r.next_attempt_at <= ? AND o.channel IN (%[3]s) %[4]s
          AND NOT EXISTS (SELECT 1 FROM journey_results n WHERE n.outbox_id = r.outbox_id AND n.attempt > r.attempt)
    )
    ORDER BY id
    LIMIT ?
),
page AS (
    SELECT o.*, coalesce(l.attempts, 0)::INTEGER AS attempts, coalesce(l.tries, 0)::INTEGER AS tries,
           EXISTS (SELECT 1 FROM journey_inflight f WHERE f.outbox_id = o.id) AS interrupted
    FROM ids
    JOIN journey_outbox o ON o.id = ids.id
    LEFT JOIN (SELECT outbox_id, max(attempt) AS attempts, count(*) FILTER (WHERE status <> 'held') AS tries
               FROM journey_results WHERE outbox_id IN (SELECT id FROM ids) GROUP BY outbox_id) l ON l.outbox_id = o.id
)
SELECT o.idem_key, o.instance_id, o.journey, o.version, o.step, o.profile_id, o.channel, o.template, o.url,
       o.purpose, o.marketing, o.attempts, o.created_at, i.payload, %[1]s AS token, o.id, o.tries, o.interrupted, p.email, p.phone, p.timezone%[5]s
FROM page o
JOIN profiles p ON p.id = o.profile_id
LEFT JOIN (SELECT id, payload FROM journey_instances WHERE payload IS NOT NULL) i ON i.id = o.instance_id
%[2]s
ORDER BY o.id;

-- name: end_withdrawn
UPDATE journey_instances SET status = 'exited', exit_reason = 'withdrawn', finished_at = ?
WHERE status = 'active' AND id IN (%s);

-- name: clear_inflight
-- The in-flight marks of a batch whose results are being written (in the
-- same transaction), including marks a crashed process left on them (%s:
-- the batch's ids as ranges, idRuns).
DELETE FROM journey_inflight WHERE %s;

-- name: new_events
SELECT e.profile_id, e.ts, CAST(e.properties AS VARCHAR), e.message_id, e.received_at
FROM events e
WHERE e.event = ? AND e.received_at >= ? AND e.received_at <= ?
  AND e.message_id NOT IN (SELECT entry_ref FROM journey_instances WHERE journey = ? AND entry_ref IS NOT NULL)
ORDER BY e.received_at, e.message_id;

-- name: gate_changed
-- People whose consent, flags or suppressions may have changed since the
-- set-based decision at `since`: a ledger entry appended after seq (or
-- recorded since), or taking effect or expiring between then and now; a
-- profile update; a new suppression of one of their addresses. src and ts
-- let the gate tell a new change from one it has already seen.
SELECT profile_id, 'ledger' AS src, recorded_at AS ts FROM consent_ledger
WHERE seq > ? OR recorded_at >= ? OR (effective_at >= ? AND effective_at <= ?) OR (expires_at >= ? AND expires_at <= ?)
UNION ALL
SELECT id, 'profile', updated_at FROM profiles WHERE updated_at >= ?
UNION ALL
SELECT d.profile_id, 'suppression', s.created_at FROM suppressions s JOIN identities d ON d.value_hash = s.addr_hash WHERE s.created_at >= ?;

-- name: gate_next_transition
-- The next instant after now at which a ledger entry takes effect or
-- expires: decisions may change then without any write.
SELECT min(t) FROM (
    SELECT min(effective_at) AS t FROM consent_ledger WHERE effective_at > ?
    UNION ALL
    SELECT min(expires_at) FROM consent_ledger WHERE expires_at > ?
);

-- name: ledger_seq
SELECT coalesce(max(seq), 0) FROM consent_ledger;

-- name: gate_decide
-- The eligibility decision's person-level terms again (%[1]s:
-- engine.EligibilitySQL over the CTE people), for the people in a batch
-- (%[2]s) whose consent, flags or suppressions changed since their outbox
-- rows were written.
WITH people AS MATERIALIZED (SELECT id, restricted, objected, email, phone FROM profiles WHERE id IN (%[2]s))
SELECT profile_id, reason FROM (%[1]s);

-- name: insert_outbox
-- New sends from _jout (outbox id, key, instance, person) with what the
-- step's sends share (journey, version, step, channel, template, url,
-- purpose, marketing, created_at); a key already in the outbox is never
-- added twice (its id is then left unused). A key names its instance (its
-- step component carries the instance id), so a row holding it belongs to
-- one of the new sends' instances: only the outbox rows of their id range
-- (the last two arguments) are searched, not every key ever written.
INSERT INTO journey_outbox
SELECT j.id, j.idem_key, j.instance_id, ?::VARCHAR, ?::INTEGER, ?::VARCHAR, j.profile_id,
       ?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::BOOLEAN, ?::TIMESTAMP
FROM _jout j WHERE j.idem_key NOT IN (SELECT idem_key FROM journey_outbox WHERE instance_id BETWEEN ?::BIGINT AND ?::BIGINT);

-- name: failures
-- Sends whose last attempt failed, newest first: for one journey ("" =
-- all) since an instant, with the provider's reason.
SELECT o.journey, o.step, o.channel, o.profile_id, l.at, coalesce(l.reason, '')
FROM (SELECT outbox_id, max(at) AS at, arg_max(status, attempt) AS status, arg_max(reason, attempt) AS reason
      FROM journey_results WHERE at >= ? GROUP BY outbox_id) l
JOIN journey_outbox o ON o.id = l.outbox_id
WHERE l.status = 'failed' AND (? = '' OR o.journey = ?)
ORDER BY l.at DESC, o.id
LIMIT ?;

-- name: preview_event_people
-- The latest events that enter an event journey (name ?, at or before ?),
-- newest first, at most ? of them: its preview picks its people here.
SELECT profile_id, ts, CAST(properties AS VARCHAR)
FROM events
WHERE event = ? AND ts <= ?
ORDER BY ts DESC, message_id
LIMIT ?;

-- name: preview_api_people
-- The latest entries into a journey with their payloads, newest first, at
-- most ? of them: an api journey's preview picks its people here.
SELECT profile_id, coalesce(payload, '')
FROM journey_instances
WHERE journey = ?
ORDER BY entered_at DESC, id DESC
LIMIT ?;

-- name: preview_first_people
-- The first ? profiles by id: the people an api journey nobody has entered
-- yet is previewed for.
SELECT id FROM profiles ORDER BY id LIMIT ?;

-- name: profile_columns
-- The profile table's columns with their types, in order: the outbox page
-- reads the traits among them. pragma_table_info reads the one table;
-- duckdb_columns() took 50–150 ms the first time in a process (every
-- table's columns), on the way to the first page.
SELECT name, type FROM pragma_table_info('main.profiles')
ORDER BY cid;

-- name: gate_last_erasure
-- The latest erasure's instant (NULL: none yet). Sends read before it may
-- belong to someone erased since (gate_erased.go).
SELECT max(erased_at) FROM erasure_hashes;
