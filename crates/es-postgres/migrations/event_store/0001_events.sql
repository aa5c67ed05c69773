-- The event store of one schema. `{schema}` is replaced by the validated,
-- quoted schema name before this runs.

-- One row per stream with its current version (dropped again by 0002: the
-- unique index on es_events (stream_id, version) does this job alone).
CREATE TABLE IF NOT EXISTS {schema}.es_streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL
);

-- The log. Global order is (txid, sequence): `txid` is the writing
-- transaction's id (pg_current_xact_id()), `sequence` orders events within it.
-- Readers only take rows whose txid is below the oldest running transaction
-- (pg_snapshot_xmin), so a transaction that commits late can never be skipped.
CREATE TABLE IF NOT EXISTS {schema}.es_events (
    sequence       bigserial   PRIMARY KEY,
    txid           bigint      NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    payload        jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);

CREATE INDEX IF NOT EXISTS es_events_global_order ON {schema}.es_events (txid, sequence);

CREATE TABLE IF NOT EXISTS {schema}.es_snapshots (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    state     jsonb  NOT NULL
);
