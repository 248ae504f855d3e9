-- Named SQL blocks of the tracking-permission check (tracking.go). The
-- staged events are _ev. Consent is decided over the entries of the
-- batch's people only, so that the decision's windows and aggregates cost
-- what the batch holds, not what the database holds.

-- name: tracking-people
-- The distinct people behind the staged behavioural events, through an
-- owners relation (%[1]s: kind, value, profile_id); consent is decided for
-- them alone. Exempt events (%[2]s) are stored whatever the person chose.
CREATE OR REPLACE TEMP TABLE _evpeople AS
SELECT DISTINCT o.profile_id
FROM _ev s
JOIN %[1]s o ON o.kind = s._pkind AND o.value = s._pvalue
WHERE NOT %[2]s;

-- name: tracking-entries
-- The consent entries of those people (consent_state, or the whole
-- ledger when some entry takes effect later; see consentRelation). The
-- grant is decided per person, so narrowing to them changes no decision.
CREATE OR REPLACE TEMP TABLE _evconsent AS
SELECT * FROM %s WHERE profile_id IN (SELECT profile_id FROM _evpeople);

-- name: tracking-drops
-- The events not to store and why (%[1]s, %[2]s, %[3]s: the reasons), for
-- the batch's people who are restricted, objected or whose analytics
-- decision on some channel does not grant (%[4]s: the withdrawn people);
-- %[5]s and %[6]s are the owners relation and the exemption, as above.
CREATE OR REPLACE TEMP TABLE _evdrop AS
SELECT s._row, b.reason
FROM _ev s
JOIN %[5]s o ON o.kind = s._pkind AND o.value = s._pvalue
JOIN (
    SELECT p.id, CASE WHEN p.restricted THEN '%[1]s' WHEN p.objected THEN '%[2]s' ELSE '%[3]s' END AS reason
    FROM profiles p
    WHERE p.id IN (SELECT profile_id FROM _evpeople)
      AND (p.restricted OR p.objected OR p.id IN (%[4]s))
) b ON b.id = o.profile_id
WHERE NOT %[6]s;
