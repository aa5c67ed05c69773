-- Payloads, metadata and snapshot states keep the exact JSON text the
-- application wrote. `jsonb` re-normalises numbers (1e16 comes back as
-- 10000000000000000, -0.0 as 0, long fractions through numeric), so a value
-- did not always read back as the `serde_json::Value` that was appended;
-- `json` stores the text as sent (after checking it is JSON) and returns it
-- unchanged, and costs less than `jsonb` to write and to read.
--
-- Rows written before this step keep the text jsonb had normalised them to.
-- Changing the type rewrites the tables under an exclusive lock: on a large
-- store, run `migrate` in a maintenance window.
ALTER TABLE {schema}.es_events
    ALTER COLUMN payload  TYPE json USING payload::json,
    ALTER COLUMN metadata TYPE json USING metadata::json;

ALTER TABLE {schema}.es_snapshots
    ALTER COLUMN state TYPE json USING state::json;
