//! Checking the stored transaction ids against the cluster's transaction
//! counter, which finds a database restored from another cluster (see
//! [`RestoredDatabase`] for why that breaks the global log, and the repair).
//!
//! Each store handle checks once before its first append or read (one
//! query), `migrate` checks, and the paths that would otherwise go wrong
//! check as they go: a read that finds nothing to return (its checkpoint, or
//! the events after it, lying ahead of the cluster) and an append refused
//! behind a stream's last event.

use std::sync::atomic::Ordering;

use es_core::StoreError;
use sqlx::{Connection, PgConnection, PgExecutor};

use super::PostgresStore;
use crate::RestoredDatabase;

impl PostgresStore {
    /// Before this handle's first append or read: refuses a restored
    /// database. Checks again on each call until the check passes once.
    /// Asks on `conn` (an append's connection, which may be the caller's
    /// transaction: then inside a savepoint, so a failure leaves that
    /// transaction usable) or, without one, on the pool.
    pub(super) async fn check_opened(
        &self,
        conn: Option<(&mut PgConnection, bool)>,
    ) -> Result<(), StoreError> {
        if self.inner.checked.load(Ordering::Acquire) {
            return Ok(());
        }
        let found = match conn {
            None => self.find_restored(&self.inner.pool, None).await,
            Some((conn, false)) => self.find_restored(conn, None).await,
            Some((conn, true)) => {
                let mut savepoint = conn.begin().await.map_err(StoreError::backend)?;
                let found = self.find_restored(&mut *savepoint, None).await;
                savepoint.rollback().await.map_err(StoreError::backend)?;
                found
            }
        };
        if let Some(restored) = found.map_err(StoreError::backend)? {
            return Err(restored.into());
        }
        self.inner.checked.store(true, Ordering::Release);
        Ok(())
    }

    /// The schema's highest stored transaction id, or `checkpoint` if that is
    /// higher, when it lies ahead of the cluster's transaction counter.
    pub(super) async fn find_restored<'c>(
        &self,
        executor: impl PgExecutor<'c>,
        checkpoint: Option<u64>,
    ) -> Result<Option<RestoredDatabase>, sqlx::Error> {
        let (highest, cluster_next): (Option<i64>, i64) =
            sqlx::query_as(self.inner.sql.log_head.clone())
                .fetch_one(executor)
                .await?;
        Ok(RestoredDatabase::find(
            &self.inner.schema,
            highest.map(|txid| txid as u64),
            checkpoint,
            cluster_next as u64,
        ))
    }
}
