//! Commit tickets: the commit key of an append inside a caller's
//! `REPEATABLE READ` or `SERIALIZABLE` transaction that already holds a
//! transaction id.
//!
//! An append's commit key must lie at or above every horizon a reader
//! computed before the appending transaction took the log's writer lock
//! (docs/adr/horizon-from-the-logs-writers.md). In `READ COMMITTED` the
//! append statement's own snapshot is taken after the lock, so its `xmax`
//! is such a bound; a transaction id assigned by the statement is one too.
//! A transaction-level snapshot may be older than the lock, and the
//! transaction's id too, so neither bounds the horizons readers computed in
//! between. A subtransaction id assigned after the lock does: the ticket.

use sqlx::{Connection, PgConnection};

use super::PostgresStore;

/// One epoch of 32-bit transaction ids.
const EPOCH: i64 = 1 << 32;

impl PostgresStore {
    /// Whether an append on `conn` (the caller's transaction) needs a commit
    /// ticket: its snapshot is the transaction's and it has an id already.
    pub(super) async fn needs_ticket(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(self.inner.sql.needs_ticket.clone())
            .fetch_one(conn)
            .await
    }

    /// Takes the log's writer lock (held until the caller's transaction, or
    /// the savepoint `conn` is in, ends), then draws a ticket: a
    /// subtransaction id assigned now, with its epoch, in a savepoint that
    /// is rolled back (the tickets table stays empty). The append's commit
    /// key is raised to it.
    pub(super) async fn commit_ticket(&self, conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
        sqlx::query(self.inner.sql.lock_log.clone())
            .execute(&mut *conn)
            .await?;
        let mut savepoint = conn.begin().await?;
        let (subtransaction, transaction): (i64, i64) =
            sqlx::query_as(self.inner.sql.commit_ticket.clone())
                .fetch_one(&mut *savepoint)
                .await?;
        savepoint.rollback().await?;
        Ok(full_id(transaction, subtransaction))
    }
}

/// The full (epoch-carrying) id of a 32-bit transaction id `xid` assigned
/// after the transaction `after` (full id), less than one epoch later.
fn full_id(after: i64, xid: i64) -> i64 {
    after + (xid - after.rem_euclid(EPOCH)).rem_euclid(EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtransaction_id_takes_the_epoch_of_the_transaction_it_follows() {
        assert_eq!(full_id(730, 731), 731);
        assert_eq!(full_id(3 * EPOCH + 10, 12), 3 * EPOCH + 12);
        // The 32-bit counter wrapped between the two.
        assert_eq!(full_id(3 * EPOCH + EPOCH - 2, 5), 4 * EPOCH + 5);
    }
}
