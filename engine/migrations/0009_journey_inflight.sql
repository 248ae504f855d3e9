-- Sends handed to a provider whose result is not written yet. Dispatch
-- marks a channel batch here in a transaction committed before the provider
-- call and removes the marks in the transaction that writes the batch's
-- results. A mark a later process finds is a send interrupted by a crash:
-- it is resent with the same idempotency key and logged as resent
-- (docs/journeys.md, Crash safety). No personal data: the outbox row holds
-- the person.
CREATE TABLE journey_inflight (
    outbox_id BIGINT    NOT NULL,
    since     TIMESTAMP NOT NULL
);
