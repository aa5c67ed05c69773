//! Reading: one stream (in full or for replay) and the gap-safe global log,
//! read below the horizon of the log's own writers, which waits briefly for
//! committed events a still-running writer of the log holds back.

use std::time::{Duration, Instant};

use es_core::{Position, RecordedEvent, ReplayEvent, StoreError, StreamId};
use futures::{stream::BoxStream, StreamExt};

use super::{
    decode::{decode_replay_row, decode_row},
    to_i64, PostgresStore,
};

/// How long [`es_core::EventStore::read_all`] waits, when it has nothing safe
/// to return, for committed events held back by a transaction that writes
/// the log and is still running (usually a concurrent append about to
/// commit). After that it
/// returns an empty page; the events are delivered by a later read.
pub const HELD_BACK_WAIT: Duration = Duration::from_secs(1);

/// The longest pause between two checks while waiting for held-back events.
pub(super) const MAX_HELD_BACK_PAUSE: Duration = Duration::from_millis(20);

impl PostgresStore {
    /// The events of `stream_id` from `from_version` on, as rows arrive.
    pub(super) fn read_stream_rows<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        sqlx::query(self.inner.sql.read_stream.clone())
            .bind(stream_id.as_str())
            .bind(to_i64(from_version))
            .fetch(&self.inner.pool)
            .map(move |row| {
                row.map_err(StoreError::backend)
                    .and_then(|row| decode_row(&row, Some(stream_id)))
            })
            .boxed()
    }

    /// [`read_stream_rows`](Self::read_stream_rows) with only what replay needs.
    pub(super) fn replay_stream_rows<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        sqlx::query(self.inner.sql.replay_stream.clone())
            .bind(stream_id.as_str())
            .bind(to_i64(from_version))
            .fetch(&self.inner.pool)
            .map(move |row| {
                row.map_err(StoreError::backend)
                    .and_then(|row| decode_replay_row(&row, stream_id))
            })
            .boxed()
    }

    /// A page of the global log after `after`: only events below the log's
    /// horizon (see [`horizon`](Self::horizon)), so nothing can later appear
    /// behind them.
    pub(super) async fn read_log(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.check_opened(None).await?;
        let deadline = Instant::now() + HELD_BACK_WAIT;
        let mut pause = Duration::from_millis(1);
        // Computed in a statement that ends before the read's begins: the
        // read's snapshot then holds every event that will ever have a key
        // below it.
        let mut horizon = self.horizon().await?;
        loop {
            let rows = sqlx::query(self.inner.sql.read_all.clone())
                .bind(to_i64(after.commit))
                .bind(to_i64(after.sequence))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .bind(to_i64(horizon))
                .fetch_all(&self.inner.pool)
                .await
                .map_err(StoreError::backend)?;
            if !rows.is_empty() || limit == 0 {
                return rows.iter().map(|row| decode_row(row, None)).collect();
            }
            // Nothing was safe to hand out below that horizon. Is anything
            // committed after `after` now? (Asked at a new snapshot: a
            // transaction that held the page back may have finished in
            // between, and then the page is safe already.)
            let (pending, cluster_next): (Option<i64>, i64) =
                sqlx::query_as(self.inner.sql.pending.clone())
                    .bind(to_i64(after.commit))
                    .bind(to_i64(after.sequence))
                    .fetch_one(&self.inner.pool)
                    .await
                    .map_err(StoreError::backend)?;
            // A checkpoint or a committed event at or past the cluster's next
            // transaction id exists only on a database restored from another
            // cluster: waiting would never end (or skip the new events).
            let cluster_next = cluster_next as u64;
            if after.commit >= cluster_next
                || pending.is_some_and(|pending| pending as u64 >= cluster_next)
            {
                if let Some(restored) = self
                    .find_restored(&self.inner.pool, Some(after.commit))
                    .await
                    .map_err(StoreError::backend)?
                {
                    return Err(restored.into());
                }
            }
            let Some(pending) = pending else {
                return Ok(Vec::new());
            };
            // Wait (briefly) until no writer of this log can still commit
            // below it, then read again.
            loop {
                horizon = self.horizon().await?;
                if horizon > pending as u64 {
                    break;
                }
                if Instant::now() >= deadline {
                    return Ok(Vec::new());
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_HELD_BACK_PAUSE);
            }
        }
    }

    /// The horizon of this store's log now: the least of the cluster's next
    /// transaction id and the ids of the running transactions that hold a
    /// writer's lock on this schema's `es_events`. A transaction that is not
    /// among them can only commit events with a commit key at or above it
    /// (docs/adr/horizon-from-the-logs-writers.md). Transactions of other
    /// databases, other schemas, or that never wrote the log, do not lower it.
    pub async fn horizon(&self) -> Result<u64, StoreError> {
        let horizon: i64 = sqlx::query_scalar(self.inner.sql.horizon.clone())
            .fetch_one(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(horizon as u64)
    }
}
