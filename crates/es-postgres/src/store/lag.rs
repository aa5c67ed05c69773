//! How far a follower of the global log is behind, and what holds the log
//! back: the numbers operators watch and readiness checks gate on.
//!
//! A follower (a projection, the relay) is behind by the committed events
//! after its checkpoint. The global log hands out an event only once every
//! older transaction has finished, so a long open writing transaction
//! anywhere in the database holds every follower back: its age is the other
//! number to watch.

use es_core::{Position, StoreError};
use es_telemetry::Lag;

use super::{to_i64, PostgresStore};

/// The age in seconds of the oldest open transaction that has written (holds
/// a transaction id), other than the asking one, `0` when there is none.
const HORIZON_AGE: &str =
    "SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)::float8 \
     FROM pg_stat_activity \
     WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()";

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

    /// The age in seconds of the oldest open transaction in the database
    /// that holds back the global log's horizon (`0.0` when none is open).
    /// Records it as `es_postgres_horizon_age_seconds` when the `metrics`
    /// feature is on.
    pub async fn horizon_age(&self) -> Result<f64, StoreError> {
        let seconds: f64 = sqlx::query_scalar(HORIZON_AGE)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        let seconds = seconds.max(0.0);
        es_telemetry::metrics::postgres_horizon_age(seconds);
        Ok(seconds)
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
