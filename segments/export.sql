-- Member exports with trait columns (export_traits.go). DuckDB does the
-- work: the member list is materialised once in a temporary table of the
-- export's connection, and every format reads that table.

-- name: member-export-sql
-- The members of a SQL segment with the export's columns (%[1]s: the
-- select list over m, the audience query's row, and t, the profile row)
-- from the audience query (%[2]s: Audience.classify).
CREATE OR REPLACE TEMP TABLE seg_member_export AS
SELECT %[1]s
FROM (%[2]s) m
JOIN profiles t ON t.id = m.id
WHERE m.removed IS NULL;

-- name: member-export-vm
-- The same for a segment the VM decides: only the ids it matched
-- (staged in seg_member_ids) are members.
CREATE OR REPLACE TEMP TABLE seg_member_export AS
SELECT %[1]s
FROM (%[2]s) m
JOIN temp.seg_member_ids v ON v.id = m.id
JOIN profiles t ON t.id = m.id
WHERE m.removed IS NULL;

-- name: member-ids
CREATE OR REPLACE TEMP TABLE seg_member_ids (id BIGINT NOT NULL);

-- name: member-export-rows
SELECT * FROM temp.seg_member_export ORDER BY profile_id;

-- name: member-export-count
SELECT count(*) FROM temp.seg_member_export;

-- name: member-export-parquet
-- COPY takes no bind parameter for its target: %s is the quoted path.
COPY (SELECT * FROM temp.seg_member_export ORDER BY profile_id) TO %s (FORMAT PARQUET);

-- name: member-export-drop
DROP TABLE IF EXISTS temp.seg_member_export;

-- name: member-ids-drop
DROP TABLE IF EXISTS temp.seg_member_ids;
