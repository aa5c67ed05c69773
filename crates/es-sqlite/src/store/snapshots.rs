//! Snapshots: the latest saved state of a stream, one row per stream, kept
//! as the exact JSON text serde_json wrote, with the revision of the
//! aggregate state it holds.

use async_trait::async_trait;
use es_core::{Snapshot, SnapshotStore, StoreError, StreamId};
use sqlx::Row;

use super::SqliteStore;

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row =
            sqlx::query("SELECT version, state, revision FROM es_snapshots WHERE stream_id = ?")
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
        // A revision no aggregate can declare reads as one none has: the
        // repository then ignores and replaces the snapshot.
        let revision = row
            .try_get::<i64, _>(2)
            .ok()
            .map(|revision| u32::try_from(revision).unwrap_or(u32::MAX));
        let (Some(version), Some(state), Some(revision)) = (version, state, revision) else {
            tracing::warn!(%stream_id, "ignoring a snapshot that cannot be read");
            return Ok(None);
        };
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            version,
            revision,
            state,
        }))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        sqlx::query(
            // At the same version a snapshot replaces the stored one: that is
            // how one of another revision is replaced.
            "INSERT INTO es_snapshots (stream_id, version, state, revision) VALUES (?, ?, ?, ?) \
             ON CONFLICT (stream_id) DO UPDATE \
             SET version = excluded.version, state = excluded.state, revision = excluded.revision \
             WHERE excluded.version >= es_snapshots.version",
        )
        .bind(snapshot.stream_id.as_str())
        .bind(snapshot.version as i64)
        .bind(snapshot.state.to_string())
        .bind(i64::from(snapshot.revision))
        .execute(&self.pool)
        .await
        .map_err(StoreError::backend)?;
        Ok(())
    }
}
