-- Named SQL blocks of the tracking-permission check (tracking.go). The
-- staged events are _ev; every block reads the rows of the batch's people
-- only, so that the check costs what the batch holds, not what the
-- database holds.

-- name: tracking-events
-- The profile behind each staged behavioural event, through an owners
-- relation (%[1]s: kind, value, profile_id). Exempt events (%[2]s) are
-- stored whatever the person chose, so they are left out here.
CREATE OR REPLACE TEMP TABLE _evtrack AS
SELECT s._row, o.profile_id
FROM _ev s
JOIN %[1]s o ON o.kind = s._pkind AND o.value = s._pvalue
WHERE NOT %[2]s;

-- name: tracking-people
-- The distinct people of those events: consent is decided for them alone.
CREATE OR REPLACE TEMP TABLE _evpeople AS
SELECT DISTINCT profile_id FROM _evtrack;

-- name: tracking-entries
-- The consent entries of those people (consent_state, or the whole
-- ledger when some entry takes effect later; see consentRelation). The
-- grant is decided per person, so narrowing to them changes no decision.
CREATE OR REPLACE TEMP TABLE _evconsent AS
SELECT * FROM %s WHERE profile_id IN (SELECT profile_id FROM _evpeople);

-- name: tracking-drops
-- The events not to store and why (%[1]s, %[2]s, %[3]s: the reasons), for
-- the batch's people who are restricted, objected or whose analytics
-- decision on some channel does not grant (%[4]s: the withdrawn people).
CREATE OR REPLACE TEMP TABLE _evdrop AS
SELECT t._row, b.reason
FROM _evtrack t
JOIN (
    SELECT p.id, CASE WHEN p.restricted THEN '%[1]s' WHEN p.objected THEN '%[2]s' ELSE '%[3]s' END AS reason
    FROM profiles p
    WHERE p.id IN (SELECT profile_id FROM _evpeople)
      AND (p.restricted OR p.objected OR p.id IN (%[4]s))
) b ON b.id = t.profile_id;
