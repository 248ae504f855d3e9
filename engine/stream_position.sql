-- Named SQL blocks of stream_position.go: the consumed position of a NATS
-- JetStream stream.

-- name: stream-position
SELECT seq, stream_created FROM stream_positions WHERE stream = ?;

-- name: stream-position-set
INSERT INTO stream_positions (stream, seq, stream_created, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, stream_created = excluded.stream_created, updated_at = excluded.updated_at;
