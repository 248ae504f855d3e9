-- Saved segments (package segments): definitions, materialised membership,
-- and the entered/exited diffs between two computations.

CREATE TABLE segments (
    name        VARCHAR   NOT NULL,
    expression  VARCHAR   NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    computation BIGINT    NOT NULL DEFAULT 0, -- number of the last computation
    computed_at TIMESTAMP
);

-- Current members of each saved segment.
CREATE TABLE segment_members (
    segment    VARCHAR   NOT NULL,
    profile_id BIGINT    NOT NULL,
    since      TIMESTAMP NOT NULL
);

-- Who entered or exited a segment at each computation (or single-profile
-- re-check, recorded under the computation it amends).
CREATE TABLE segment_changes (
    segment     VARCHAR   NOT NULL,
    computation BIGINT    NOT NULL,
    profile_id  BIGINT    NOT NULL,
    change      VARCHAR   NOT NULL, -- entered | exited
    at          TIMESTAMP NOT NULL
);

-- Transient staging of a computation's members (removed when it commits).
CREATE TABLE segment_stage (
    token      VARCHAR NOT NULL,
    profile_id BIGINT  NOT NULL
);
