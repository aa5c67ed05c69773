-- Projection checkpoints, in the projection's database next to its rows.
-- `{schema}` is replaced by the validated, quoted schema name.
CREATE TABLE IF NOT EXISTS {schema}.es_checkpoints (
    projection text   PRIMARY KEY,
    commit_key bigint NOT NULL,
    sequence   bigint NOT NULL
);
