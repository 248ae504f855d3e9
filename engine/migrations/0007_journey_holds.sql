-- Why an active instance is held at its step (quiet_hours, restricted);
-- NULL when it is not held. A restricted person's instance is held until
-- the restriction is lifted (docs/journeys.md).
ALTER TABLE journey_instances ADD COLUMN held_reason VARCHAR;
