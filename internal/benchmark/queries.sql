-- name: duckdb_settings
-- The settings a side's DuckDB runs with, reported beside its figures.
SELECT current_setting('memory_limit'), current_setting('threads');

-- name: outbox_create
-- The reference outbox: the least a durable send queue needs.
CREATE TABLE outbox (id BIGINT PRIMARY KEY, profile_id BIGINT, idempotency_key VARCHAR, channel VARCHAR, status VARCHAR, sent_at TIMESTAMP);

-- name: outbox_next
SELECT id, profile_id, idempotency_key FROM outbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?;

-- name: outbox_done
UPDATE outbox SET status = 'done', sent_at = now() WHERE id >= ? AND id <= ?;
