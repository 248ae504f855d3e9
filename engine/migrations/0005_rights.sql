-- People's rights (issue 11): tracking that stops with permission, ingestion
-- trust levels and webhook replay protection.

-- Behavioural events not stored because the person had withdrawn analytics,
-- objected or was restricted: one row per input and reason, never the
-- events themselves. /metrics and import summaries report the sums.
CREATE TABLE event_drops (
    at     TIMESTAMP NOT NULL,
    reason VARCHAR   NOT NULL, -- restricted | objected | analytics_withdrawn
    events BIGINT    NOT NULL,
    source VARCHAR   NOT NULL
);

-- Identifiers first reported through a client (browser or app) write key,
-- as keyed hashes (identities.value_hash). They are not trusted to receive
-- a data-download code until a trusted source (an import, a server key,
-- the admin API) reports them too.
CREATE TABLE client_identities (
    value_hash VARCHAR NOT NULL,
    at         TIMESTAMP NOT NULL
);

-- Inbound webhooks already handled, by the provider's message id, so that
-- a captured request replayed later changes nothing.
CREATE TABLE webhook_receipts (
    provider    VARCHAR   NOT NULL,
    message_id  VARCHAR   NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, message_id)
);
