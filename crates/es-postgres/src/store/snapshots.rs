//! Snapshots: the latest saved state of a stream, one row per stream.

use async_trait::async_trait;
use es_core::{Snapshot, SnapshotStore, StoreError, StreamId};
use sqlx::Row;

use super::{to_i64, PostgresStore};

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query(&self.inner.sql.load_snapshot)
            .bind(stream_id.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(StoreError::backend)?;
        let state: serde_json::Value = row.try_get(1).map_err(StoreError::backend)?;
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            version: version as u64,
            state,
        }))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        sqlx::query(&self.inner.sql.save_snapshot)
            .bind(snapshot.stream_id.as_str())
            .bind(to_i64(snapshot.version))
            .bind(&snapshot.state)
            .execute(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
