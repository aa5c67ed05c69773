//! How far a follower of the global log is behind, and what holds the log
//! back: the numbers operators watch and readiness checks gate on.
//!
//! A follower (a projection, the relay) is behind by the committed events
//! after its checkpoint. The global log hands out an event only once no
//! running writer of the log can still commit before it, so a long open
//! transaction that writes this store's log holds every follower back: its
//! age is the other number to watch. (Transactions elsewhere on the server
//! hold nothing back and are not counted.)

use es_core::{Position, StoreError};
use es_telemetry::Lag;

use super::{to_i64, PostgresStore};

impl PostgresStore {
    /// How far a follower whose checkpoint is `checkpoint` is behind:
    /// the committed events after it and the age of the oldest of them.
    ///
    /// Counts rows, so it costs in proportion to the lag; meant for a
    /// sampler every few seconds, not for every event.
    pub async fn lag_after(&self, checkpoint: Position) -> Result<Lag, StoreError> {
        let (events, seconds): (i64, f64) = sqlx::query_as(self.inner.sql.lag_after.clone())
            .bind(to_i64(checkpoint.commit))
            .bind(to_i64(checkpoint.sequence))
            .fetch_one(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(Lag::new(
            u64::try_from(events).unwrap_or(0),
            seconds.max(0.0),
        ))
    }

    /// The age in seconds of the oldest open transaction that holds a
    /// writer's lock on this store's log, and so can hold back its horizon
    /// (`0.0` when none is open).
    /// Records it as `es_postgres_horizon_age_seconds` when the `metrics`
    /// feature is on.
    pub async fn horizon_age(&self) -> Result<f64, StoreError> {
        let seconds: f64 = sqlx::query_scalar(self.inner.sql.writer_age.clone())
            .fetch_one(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        let seconds = seconds.max(0.0);
        es_telemetry::metrics::postgres_horizon_age(seconds);
        Ok(seconds)
    }

    /// The backend process ids of the sessions whose open transactions hold
    /// a writer's lock (`ROW EXCLUSIVE` or stronger) on this store's log:
    /// the only transactions that can hold back its horizon
    /// ([`horizon`](Self::horizon)). Prepared transactions have no process
    /// and are not listed.
    pub async fn log_writers(&self) -> Result<Vec<i32>, StoreError> {
        sqlx::query_scalar(self.inner.sql.log_writers.clone())
            .fetch_all(&self.inner.pool)
            .await
            .map_err(StoreError::backend)
    }

    /// Answers once the database does (`SELECT 1`): the readiness ping.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
