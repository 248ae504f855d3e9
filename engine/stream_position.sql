-- Named SQL blocks of stream_position.go: the consumed position of a NATS
-- JetStream stream.

-- name: stream-position
SELECT seq FROM stream_positions WHERE stream = ?;

-- name: stream-position-set
-- A position only moves forward: a late writer never rewinds it.
INSERT INTO stream_positions (stream, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (stream) DO UPDATE SET seq = greatest(stream_positions.seq, excluded.seq), updated_at = excluded.updated_at;
