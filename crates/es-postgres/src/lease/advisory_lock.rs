//! One held advisory lock: its dedicated connection, heartbeat and release.

use async_trait::async_trait;
use es_lease::{LeaseError, LeaseKeeper, LeaseLost};
use sqlx::{Connection, PgConnection};

/// A session-level advisory lock, held for as long as its connection lives.
pub(crate) struct AdvisoryLock {
    pub(crate) conn: PgConnection,
    pub(crate) key: i64,
}

#[async_trait]
impl LeaseKeeper for AdvisoryLock {
    /// A `SELECT 1` round trip: the lock lives exactly as long as this
    /// session, so a session that answers still holds it.
    async fn renew(&mut self) -> Result<(), LeaseLost> {
        sqlx::query("SELECT 1")
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|error| {
                LeaseLost::RenewalFailed(format!(
                    "heartbeat on the lease connection failed: {error}"
                ))
            })
    }

    /// Unlocks, then closes the connection (closing alone would free the
    /// lock too; unlocking first frees it even if the close is slow).
    async fn release(mut self: Box<Self>) -> Result<(), LeaseError> {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        let closed = self.conn.close().await;
        unlocked.map_err(LeaseError::backend)?;
        closed.map_err(LeaseError::backend)
    }
}
