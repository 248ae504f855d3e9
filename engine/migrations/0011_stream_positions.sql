-- How far the engine has consumed each NATS JetStream stream (tact serve
-- --role engine, docs/scale-out.md): the sequence of the last message
-- whose rows are committed, and the creation time of the stream it counts
-- in (a stream deleted and made again restarts its sequences). A restart
-- resumes after it; messages replayed around a crash are recognised by
-- their message ids (event_ids), so the two together make consumption
-- exactly once. No personal data.
CREATE TABLE stream_positions (
    stream         VARCHAR   PRIMARY KEY,
    seq            UBIGINT   NOT NULL,
    stream_created TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
