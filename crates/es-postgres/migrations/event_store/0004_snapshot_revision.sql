-- The revision of the aggregate state a snapshot holds
-- (es_core::Aggregate::SNAPSHOT_REVISION): a snapshot of another revision is
-- ignored and replaced. Snapshots saved before this step count as revision 1,
-- the revision every aggregate has until it declares another. Adding a column
-- with a constant default does not rewrite the table.
ALTER TABLE {schema}.es_snapshots
    ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1;
