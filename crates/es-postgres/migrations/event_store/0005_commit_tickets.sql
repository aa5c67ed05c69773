-- Commit tickets. An append inside a caller's REPEATABLE READ or SERIALIZABLE
-- transaction that already has a transaction id sees the transaction's old
-- snapshot, so the snapshot cannot tell it how far readers may have moved
-- since. After taking the log's writer lock it inserts a row here in a
-- savepoint it rolls back: the row's xmin, a subtransaction id assigned just
-- now, lies above every horizon a reader computed before the lock was taken,
-- and the append's commit key is raised to it
-- (docs/adr/horizon-from-the-logs-writers.md). Rows never commit; the table
-- stays empty.
CREATE TABLE IF NOT EXISTS {schema}.es_commit_tickets ();
