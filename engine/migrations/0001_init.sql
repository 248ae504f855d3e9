-- Core store: profiles with typed trait columns, identities, merges, events,
-- the consent ledger with its current-state table, and suppressions.

CREATE TABLE meta (
    key   VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

-- One row per person. System columns are fixed; every trait is a further
-- typed column added by ALTER TABLE when an import first brings it.
CREATE TABLE profiles (
    id            BIGINT    NOT NULL,
    user_id       VARCHAR,
    email         VARCHAR,
    phone         VARCHAR,
    timezone      VARCHAR,
    restricted    BOOLEAN   NOT NULL DEFAULT false,
    objected      BOOLEAN   NOT NULL DEFAULT false,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- The trait catalog: name and DuckDB type of every trait column.
CREATE TABLE traits (
    name     VARCHAR   NOT NULL,
    type     VARCHAR   NOT NULL,
    source   VARCHAR   NOT NULL,
    added_at TIMESTAMP NOT NULL
);

-- Every identifier ever seen, normalised, with a keyed hash used for
-- suppressions and the merge log.
CREATE TABLE identities (
    profile_id    BIGINT    NOT NULL,
    kind          VARCHAR   NOT NULL,
    value         VARCHAR   NOT NULL,
    value_hash    VARCHAR   NOT NULL,
    source        VARCHAR   NOT NULL,
    first_seen_at TIMESTAMP NOT NULL
);

-- Merges and refused links. Identifiers are kept as keyed hashes only.
CREATE TABLE merges (
    at              TIMESTAMP NOT NULL,
    action          VARCHAR   NOT NULL, -- merge | conflict
    profile_id      BIGINT    NOT NULL, -- survivor, or the profile that kept the identifier
    other_id        BIGINT    NOT NULL, -- merged away, or the profile refused the link
    identifier_kind VARCHAR   NOT NULL,
    identifier_hash VARCHAR   NOT NULL,
    source          VARCHAR   NOT NULL,
    reason          VARCHAR   NOT NULL
);

CREATE TABLE events (
    profile_id  BIGINT    NOT NULL,
    event       VARCHAR   NOT NULL,
    ts          TIMESTAMP NOT NULL,
    properties  JSON,
    message_id  VARCHAR   NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source      VARCHAR   NOT NULL
);

-- Append-only. Entries are never updated or deleted except by erasure.
CREATE TABLE consent_ledger (
    seq            BIGINT    NOT NULL,
    profile_id     BIGINT    NOT NULL,
    purpose        VARCHAR   NOT NULL,
    channel        VARCHAR   NOT NULL,
    status         VARCHAR   NOT NULL,
    effective_at   TIMESTAMP NOT NULL,
    recorded_at    TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    notice_version VARCHAR,
    source         VARCHAR   NOT NULL,
    actor          VARCHAR   NOT NULL,
    entry_key      VARCHAR   NOT NULL
);

-- The latest entry per (profile, purpose, channel), maintained in the same
-- transaction as every append so audiences join one small table.
CREATE TABLE consent_state (
    profile_id     BIGINT    NOT NULL,
    purpose        VARCHAR   NOT NULL,
    channel        VARCHAR   NOT NULL,
    status         VARCHAR   NOT NULL,
    effective_at   TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    notice_version VARCHAR,
    seq            BIGINT    NOT NULL
);

-- Addresses never to be contacted, as keyed hashes so they outlive erasure.
CREATE TABLE suppressions (
    addr_hash  VARCHAR   NOT NULL,
    kind       VARCHAR   NOT NULL,
    reason     VARCHAR   NOT NULL,
    source     VARCHAR   NOT NULL,
    created_at TIMESTAMP NOT NULL
);
