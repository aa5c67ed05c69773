-- The revision of the aggregate state a snapshot holds
-- (es_core::Aggregate::SNAPSHOT_REVISION): a snapshot of another revision is
-- ignored and replaced. Snapshots saved before this step count as revision 1,
-- the revision every aggregate has until it declares another.
ALTER TABLE es_snapshots ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
