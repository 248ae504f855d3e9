-- Data-subject rights: requests, the hash-chained audit log, erasure
-- registry and de-identified consent tombstones.

-- One row per data-subject request. profile_id is set to NULL when the
-- person is erased; the request itself stays as proof it was honoured.
CREATE TABLE privacy_requests (
    id           BIGINT    NOT NULL,
    kind         VARCHAR   NOT NULL, -- access | rectify | restrict | unrestrict | object | unobject | erase
    profile_id   BIGINT,
    received_at  TIMESTAMP NOT NULL,
    due_at       TIMESTAMP NOT NULL,
    status       VARCHAR   NOT NULL, -- open | completed
    completed_at TIMESTAMP,
    outcome      VARCHAR,
    actor        VARCHAR   NOT NULL
);

-- Append-only, hash-chained: hash = sha256(canonical JSON of the entry,
-- prev_hash included). Never holds personal data: profiles appear only as
-- "profile:<id>", values only as keyed hashes.
CREATE TABLE audit_log (
    seq       BIGINT    NOT NULL,
    at        TIMESTAMP NOT NULL,
    actor     VARCHAR   NOT NULL,
    action    VARCHAR   NOT NULL,
    subject   VARCHAR   NOT NULL,
    details   VARCHAR   NOT NULL,
    prev_hash VARCHAR   NOT NULL,
    hash      VARCHAR   NOT NULL
);

-- Keyed hashes (HashIdentifier) of every identifier an erased person held,
-- so that a later import of the same identifier is recognised and old
-- consent history cannot make them marketable again.
CREATE TABLE erasure_hashes (
    erasure_id BIGINT    NOT NULL, -- the privacy_requests id of the erasure
    kind       VARCHAR   NOT NULL,
    addr_hash  VARCHAR   NOT NULL,
    erased_at  TIMESTAMP NOT NULL
);

-- De-identified copies of an erased person's consent ledger: no profile,
-- no actor, nothing that identifies them; proof that consent existed and
-- was withdrawn at erasure.
CREATE TABLE consent_tombstones (
    erasure_id     BIGINT    NOT NULL,
    purpose        VARCHAR   NOT NULL,
    channel        VARCHAR   NOT NULL,
    status         VARCHAR   NOT NULL,
    effective_at   TIMESTAMP NOT NULL,
    recorded_at    TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    notice_version VARCHAR,
    source         VARCHAR   NOT NULL
);
