-- Journeys (package journeys): immutable versions, the runtime state of
-- every person inside a journey, the outbox of sends with idempotency keys,
-- the step log behind `tact journey stats`, and the durable scheduler's
-- slots. No table here is updated row by row: the runner moves people in
-- bulk with set-based SQL and the Appender.

-- One row per journey name: its publication state and health.
CREATE TABLE journeys (
    name            VARCHAR   NOT NULL,
    current_version INTEGER   NOT NULL,
    state           VARCHAR   NOT NULL, -- active | paused
    health          VARCHAR   NOT NULL, -- ok | unhealthy
    last_error      VARCHAR,
    last_run_at     TIMESTAMP,
    missed_slots    BIGINT    NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP NOT NULL
);

-- Immutable published versions; source is the YAML as published.
CREATE TABLE journey_versions (
    journey      VARCHAR   NOT NULL,
    version      INTEGER   NOT NULL,
    source       VARCHAR   NOT NULL,
    source_hash  VARCHAR   NOT NULL,
    purpose      VARCHAR   NOT NULL,
    entry_kind   VARCHAR   NOT NULL,
    published_at TIMESTAMP NOT NULL
);

-- One row per person per entry. status: active | completed | converted |
-- exited. A person moves by changing step/seq/due_at in bulk.
CREATE TABLE journey_instances (
    id          BIGINT    NOT NULL,
    journey     VARCHAR   NOT NULL,
    version     INTEGER   NOT NULL,
    profile_id  BIGINT    NOT NULL,
    status      VARCHAR   NOT NULL,
    step        VARCHAR   NOT NULL,
    seq         INTEGER   NOT NULL, -- transitions so far; part of idempotency keys
    due_at      TIMESTAMP NOT NULL, -- when the current step next needs work
    wait_since  TIMESTAMP,          -- when the current wait began
    slot        TIMESTAMP NOT NULL, -- entry slot (schedule) or entry instant
    entered_at  TIMESTAMP NOT NULL,
    entry_ref   VARCHAR,            -- event message_id / api reference
    payload     VARCHAR,            -- JSON object for templates
    finished_at TIMESTAMP,
    exit_reason VARCHAR
);

-- Sends: one row per message, written (with the person's move to the
-- next step) before the provider call. Never updated: outcomes go to
-- journey_results.
CREATE TABLE journey_outbox (
    id          BIGINT    NOT NULL, -- increasing in write order
    idem_key    VARCHAR   NOT NULL,
    instance_id BIGINT    NOT NULL,
    journey     VARCHAR   NOT NULL,
    version     INTEGER   NOT NULL,
    step        VARCHAR   NOT NULL,
    profile_id  BIGINT    NOT NULL,
    channel     VARCHAR   NOT NULL,
    template    VARCHAR,
    url         VARCHAR,
    purpose     VARCHAR   NOT NULL,
    marketing   BOOLEAN   NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- The outcome of each provider attempt, appended after the call. A send
-- without a result is pending (never tried, or in flight when a process
-- died); its latest result says delivered | transient (retry at
-- next_attempt_at) | failed | skipped.
CREATE TABLE journey_results (
    outbox_id       BIGINT    NOT NULL,
    attempt         INTEGER   NOT NULL,
    at              TIMESTAMP NOT NULL,
    status          VARCHAR   NOT NULL,
    next_attempt_at TIMESTAMP,
    reason          VARCHAR,
    provider_id     VARCHAR
);

-- What happened at each step (stats). kind: entered | step | sent | skipped
-- | held | failed | converted | exited | completed.
CREATE TABLE journey_log (
    at          TIMESTAMP NOT NULL,
    journey     VARCHAR   NOT NULL,
    version     INTEGER   NOT NULL,
    step        VARCHAR   NOT NULL,
    profile_id  BIGINT    NOT NULL,
    instance_id BIGINT    NOT NULL,
    kind        VARCHAR   NOT NULL,
    reason      VARCHAR,
    channel     VARCHAR
);

-- The durable scheduler: the last slot fired per schedule.
CREATE TABLE journey_schedules (
    schedule  VARCHAR   NOT NULL, -- "<journey>/entry" or "<journey>/check"
    spec      VARCHAR   NOT NULL,
    last_slot TIMESTAMP NOT NULL,
    missed    BIGINT    NOT NULL DEFAULT 0
);

-- Each (schedule, slot) is claimed once.
CREATE TABLE journey_slot_claims (
    schedule   VARCHAR   NOT NULL,
    slot       TIMESTAMP NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (schedule, slot)
);

-- Segment-entry membership at the last check (entered = now − previous).
CREATE TABLE journey_segment_members (
    journey    VARCHAR NOT NULL,
    profile_id BIGINT  NOT NULL
);

-- Event-entry cursors: events received at or after received_at are new.
CREATE TABLE journey_cursors (
    journey     VARCHAR   NOT NULL,
    received_at TIMESTAMP NOT NULL
);
