-- The event log: one row per event. `position` is the global position; writers
-- are serialised (BEGIN IMMEDIATE), so positions are assigned in commit order.
CREATE TABLE IF NOT EXISTS es_events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT    NOT NULL UNIQUE,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE TABLE IF NOT EXISTS es_snapshots (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    state     TEXT    NOT NULL
);

-- Projection checkpoints live in the projection's database, next to its rows.
CREATE TABLE IF NOT EXISTS es_checkpoints (
    projection TEXT    PRIMARY KEY,
    commit_key INTEGER NOT NULL,
    sequence   INTEGER NOT NULL
);
