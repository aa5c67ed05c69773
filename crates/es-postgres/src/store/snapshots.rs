//! Snapshots: the latest saved state of a stream, one row per stream, kept
//! as the exact JSON text serde_json wrote, with the revision of the
//! aggregate state it holds.

use async_trait::async_trait;
use es_core::{Snapshot, SnapshotStore, StoreError, StreamId};
use sqlx::{types::Json, Row};

use super::{to_i64, PostgresStore};

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query(self.inner.sql.load_snapshot.clone())
            .bind(stream_id.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(StoreError::backend)?;
        let revision: i64 = row.try_get(2).map_err(StoreError::backend)?;
        // A revision no aggregate can declare reads as one none has: the
        // repository then ignores and replaces the snapshot.
        let revision = u32::try_from(revision).unwrap_or(u32::MAX);
        let state = match row.try_get::<Json<serde_json::Value>, _>(1) {
            Ok(Json(state)) => state,
            // A snapshot is a cache: one that does not parse (restored from
            // elsewhere, say) is ignored and the stream replayed instead.
            Err(sqlx::Error::ColumnDecode { source, .. }) => {
                tracing::warn!(%stream_id, %source, "ignoring a snapshot that cannot be read");
                return Ok(None);
            }
            Err(error) => return Err(StoreError::backend(error)),
        };
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            version: version as u64,
            revision,
            state,
        }))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        sqlx::query(self.inner.sql.save_snapshot.clone())
            .bind(snapshot.stream_id.as_str())
            .bind(to_i64(snapshot.version))
            .bind(encode_state(&snapshot)?)
            .bind(i64::from(snapshot.revision))
            .execute(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}

/// The snapshot's state as the JSON text serde_json writes (the `json`
/// column keeps it verbatim).
fn encode_state(snapshot: &Snapshot) -> Result<String, StoreError> {
    serde_json::to_string(&snapshot.state).map_err(|source| StoreError::Encode {
        event_type: format!("snapshot of {}", snapshot.stream_id),
        source,
    })
}
