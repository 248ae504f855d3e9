-- A withdrawal or denial supersedes every matching entry recorded before it
-- (docs/consent.md). The current-state table keeps each key's entries that
-- may still decide, with the recording instant and the key's latest denial;
-- the store rebuilds it from the ledger right after this migration.
DELETE FROM consent_state;
ALTER TABLE consent_state ADD COLUMN recorded_at TIMESTAMP;
ALTER TABLE consent_state ADD COLUMN denial_at TIMESTAMP;

-- The ledger as consent.GrantSQL reads it: each withdrawal or denial stands
-- for its own recording instant.
CREATE VIEW consent_entries AS
SELECT *, CASE WHEN status <> 'granted' THEN recorded_at END AS denial_at
FROM consent_ledger;
