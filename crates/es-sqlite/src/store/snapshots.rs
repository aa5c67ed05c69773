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
        // A snapshot is a cache: one that cannot be read (a value of another
        // type, text that is not JSON) is ignored and the stream replayed.
        let version = row
            .try_get::<i64, _>(0)
            .ok()
            .and_then(|v| u64::try_from(v).ok());
        let state = row
            .try_get::<String, _>(1)
            .ok()
            .and_then(|state| serde_json::from_str(&state).ok());
        let (Some(version), Some(state)) = (version, state) else {
            tracing::warn!(%stream_id, "ignoring a snapshot that cannot be read");
            return Ok(None);
        };
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            version,
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
