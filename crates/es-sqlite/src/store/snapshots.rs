//! Snapshots: the latest saved state of a stream, one row per stream, kept
//! as the exact JSON text serde_json wrote.

use async_trait::async_trait;
use es_core::{Snapshot, SnapshotStore, StoreError, StreamId};
use sqlx::Row;

use super::SqliteStore;

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query("SELECT version, state FROM es_snapshots WHERE stream_id = ?")
            .bind(stream_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(StoreError::backend)?;
        let state: String = row.try_get(1).map_err(StoreError::backend)?;
        let Ok(state) = serde_json::from_str(&state) else {
            tracing::warn!(%stream_id, "ignoring a snapshot that is not JSON");
            return Ok(None);
        };
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            version: version as u64,
            state,
        }))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO es_snapshots (stream_id, version, state) VALUES (?, ?, ?) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state \
             WHERE excluded.version > es_snapshots.version",
        )
        .bind(snapshot.stream_id.as_str())
        .bind(snapshot.version as i64)
        .bind(snapshot.state.to_string())
        .execute(&self.pool)
        .await
        .map_err(StoreError::backend)?;
        Ok(())
    }
}
