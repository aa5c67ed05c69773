//! The embedded event store.
//!
//! SQLite has one writer at a time, which makes the global log simple and safe:
//! every append runs in a `BEGIN IMMEDIATE` transaction, so positions
//! (`INTEGER PRIMARY KEY AUTOINCREMENT`) are handed out in commit order and a
//! reader that has seen position `p` can never later find an event before `p`.
//! Writers in the same process queue on an async mutex; writers in other
//! processes queue on SQLite's lock with a busy timeout.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use es_core::{
    check_expected_version, AppendOutcome, DecodeFailure, EventStore, ExpectedVersion, Metadata,
    NewEvent, Position, RecordedEvent, Snapshot, SnapshotStore, StoreError, StreamId,
};
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use sqlx::{sqlite::SqliteRow, Row, SqlitePool};
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::{connection, SqliteCheckpoints, SqliteError};

/// Batches up to this size take the single-statement path (8 bound values
/// per event stay well under SQLite's limit on bound parameters).
const MAX_FAST_BATCH: usize = 1000;

const SELECT_STREAM: &str = "SELECT position, event_id, stream_id, version, event_type, \
     schema_version, payload, metadata, recorded_at FROM es_events \
     WHERE stream_id = ? AND version >= ? ORDER BY version";

const SELECT_ALL: &str = "SELECT position, event_id, stream_id, version, event_type, \
     schema_version, payload, metadata, recorded_at FROM es_events \
     WHERE position > ? ORDER BY position LIMIT ?";

/// The SQLite event store and snapshot store. Cheap to clone; clones share
/// the connection pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    appended: Arc<watch::Sender<()>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, in WAL mode,
    /// and applies the embedded migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        Ok(Self::from_pool(connection::open_file(path.as_ref()).await?))
    }

    /// Opens a database by URL: `sqlite:path/to/events.db` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Self, SqliteError> {
        Ok(Self::from_pool(connection::open_url(url).await?))
    }

    /// A private in-memory store (gone when the last clone is dropped).
    pub async fn in_memory() -> Result<Self, SqliteError> {
        Ok(Self::from_pool(connection::open_in_memory().await?))
    }

    /// Wraps a pool whose database already has the migrations applied
    /// (see [`crate::migrate`]).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            appended: Arc::new(watch::channel(()).0),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A checkpoint store for projections kept in this same database.
    pub fn checkpoints(&self) -> SqliteCheckpoints {
        SqliteCheckpoints::from_pool(self.pool.clone())
    }

    /// The fast path for an exact expected version (what the repository
    /// uses): one multi-row `INSERT … SELECT … WHERE <version check>`
    /// statement in autocommit mode, so a command costs one statement. SQLite
    /// takes the write lock when the statement starts and materialises the
    /// SELECT before inserting, so the check and the insert are atomic.
    async fn append_exact(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        base: u64,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut sql = String::with_capacity(200 + events.len() * 40);
        sql.push_str(
            "INSERT INTO es_events (event_id, stream_id, version, event_type, schema_version, \
             payload, metadata, recorded_at) SELECT * FROM (VALUES ",
        );
        for i in 0..events.len() {
            sql.push_str(if i == 0 {
                "(?, ?, ?, ?, ?, ?, ?, ?)"
            } else {
                ", (?, ?, ?, ?, ?, ?, ?, ?)"
            });
        }
        sql.push_str(
            ") WHERE (SELECT COALESCE(MAX(version), 0) FROM es_events WHERE stream_id = ?) = ? \
             RETURNING position",
        );
        let recorded_at = Utc::now();
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for (offset, event) in events.iter().enumerate() {
            let metadata =
                serde_json::to_string(&event.metadata).map_err(|source| StoreError::Encode {
                    event_type: event.event_type.clone(),
                    source,
                })?;
            query = query
                .bind(event.event_id.to_string())
                .bind(stream_id.as_str())
                .bind((base + 1 + offset as u64) as i64)
                .bind(event.event_type.as_str())
                .bind(i64::from(event.schema_version))
                .bind(event.payload.to_string())
                .bind(metadata)
                .bind(recorded_at);
        }
        query = query.bind(stream_id.as_str()).bind(base as i64);
        match query.fetch_all(&self.pool).await {
            Ok(mut positions) if positions.len() == events.len() => {
                positions.sort_unstable();
                Ok(AppendOutcome {
                    version: base + events.len() as u64,
                    first_position: positions
                        .first()
                        .map(|&p| Position::from_sequence(p as u64)),
                    last_position: positions.last().map(|&p| Position::from_sequence(p as u64)),
                })
            }
            Ok(_) => {
                // The version check failed: a conflict, or a re-send of an
                // append that already committed.
                let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
                if let Some(outcome) = previous_append(&mut conn, stream_id, events).await? {
                    return Ok(outcome);
                }
                let actual = current_version(&mut conn, stream_id).await?;
                check_expected_version(stream_id, expected, actual)?;
                Err(StoreError::Conflict {
                    stream_id: stream_id.clone(),
                    expected,
                    actual,
                })
            }
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                self.classify_duplicate(stream_id, events).await
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }

    async fn try_append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::backend)?;
        let current = current_version(&mut tx, stream_id).await?;
        if events.is_empty() {
            check_expected_version(stream_id, expected, current)?;
            return Ok(AppendOutcome {
                version: current,
                first_position: None,
                last_position: None,
            });
        }
        if !expected.is_satisfied_by(current) {
            // Maybe a re-send of an append that already committed.
            if let Some(outcome) = previous_append(&mut tx, stream_id, events).await? {
                return Ok(outcome);
            }
            check_expected_version(stream_id, expected, current)?;
        }
        let recorded_at = Utc::now();
        let mut positions = Vec::with_capacity(events.len());
        for (offset, event) in events.iter().enumerate() {
            let metadata =
                serde_json::to_string(&event.metadata).map_err(|source| StoreError::Encode {
                    event_type: event.event_type.clone(),
                    source,
                })?;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO es_events (event_id, stream_id, version, event_type, schema_version, \
                 payload, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING position",
            )
            .bind(event.event_id.to_string())
            .bind(stream_id.as_str())
            .bind((current + 1 + offset as u64) as i64)
            .bind(&event.event_type)
            .bind(i64::from(event.schema_version))
            .bind(event.payload.to_string())
            .bind(metadata)
            .bind(recorded_at)
            .fetch_one(&mut *tx)
            .await;
            match inserted {
                Ok(position) => positions.push(position as u64),
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    // An id of this batch is recorded already (or repeated in
                    // the batch). Roll back, then classify.
                    drop(tx);
                    return self.classify_duplicate(stream_id, events).await;
                }
                Err(error) => return Err(StoreError::backend(error)),
            }
        }
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(AppendOutcome {
            version: current + events.len() as u64,
            first_position: positions.first().copied().map(Position::from_sequence),
            last_position: positions.last().copied().map(Position::from_sequence),
        })
    }

    async fn classify_duplicate(
        &self,
        stream_id: &StreamId,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        if let Some(outcome) = previous_append(&mut conn, stream_id, events).await? {
            return Ok(outcome);
        }
        Err(StoreError::InvalidInput(
            "an event id appears twice in one batch".to_owned(),
        ))
    }
}

async fn current_version(
    conn: &mut sqlx::SqliteConnection,
    stream_id: &StreamId,
) -> Result<u64, StoreError> {
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM es_events WHERE stream_id = ?")
            .bind(stream_id.as_str())
            .fetch_one(conn)
            .await
            .map_err(StoreError::backend)?;
    Ok(version as u64)
}

/// If the batch's ids are all recorded at consecutive versions of `stream_id`,
/// the earlier append's outcome; an id recorded elsewhere is an error.
async fn previous_append(
    conn: &mut sqlx::SqliteConnection,
    stream_id: &StreamId,
    events: &[NewEvent],
) -> Result<Option<AppendOutcome>, StoreError> {
    let mut found = Vec::new();
    for event in events {
        let row =
            sqlx::query("SELECT stream_id, version, position FROM es_events WHERE event_id = ?")
                .bind(event.event_id.to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::backend)?;
        if let Some(row) = row {
            let stream: String = row.try_get(0).map_err(StoreError::backend)?;
            let version: i64 = row.try_get(1).map_err(StoreError::backend)?;
            let position: i64 = row.try_get(2).map_err(StoreError::backend)?;
            found.push((event.event_id, stream, version as u64, position as u64));
        }
    }
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let consistent = found.len() == events.len()
        && found.iter().all(|(_, s, _, _)| s == stream_id.as_str())
        && found.windows(2).all(|w| w[1].2 == w[0].2 + 1);
    if !consistent {
        let (event_id, stream, version, _) = first.clone();
        return Err(StoreError::DuplicateEventId {
            event_id,
            existing_stream: StreamId::new(stream).map_err(StoreError::backend)?,
            existing_version: version,
        });
    }
    let last = &found[found.len() - 1];
    Ok(Some(AppendOutcome {
        version: last.2,
        first_position: Some(Position::from_sequence(first.3)),
        last_position: Some(Position::from_sequence(last.3)),
    }))
}

fn decode_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let get = |e: sqlx::Error| StoreError::backend(e);
    let position: i64 = row.try_get(0).map_err(get)?;
    let event_id: String = row.try_get(1).map_err(get)?;
    let stream_id: String = row.try_get(2).map_err(get)?;
    let version: i64 = row.try_get(3).map_err(get)?;
    let event_type: String = row.try_get(4).map_err(get)?;
    let schema_version: i64 = row.try_get(5).map_err(get)?;
    let payload: String = row.try_get(6).map_err(get)?;
    let metadata: String = row.try_get(7).map_err(get)?;
    let recorded_at: DateTime<Utc> = row.try_get(8).map_err(get)?;
    let stream_id = StreamId::new(stream_id).map_err(StoreError::backend)?;
    let envelope_error = |what: String| es_core::DecodeError {
        stream_id: stream_id.clone(),
        version: version as u64,
        event_type: event_type.clone(),
        schema_version: schema_version as u32,
        failure: DecodeFailure::Envelope(what),
    };
    let event_id = Uuid::parse_str(&event_id)
        .map_err(|e| envelope_error(format!("event id {event_id:?}: {e}")))?;
    let payload = serde_json::from_str(&payload)
        .map_err(|e| envelope_error(format!("payload is not JSON: {e}")))?;
    let metadata: Metadata =
        serde_json::from_str(&metadata).map_err(|e| envelope_error(format!("metadata: {e}")))?;
    Ok(RecordedEvent {
        event_id,
        stream_id,
        version: version as u64,
        position: Position::from_sequence(position as u64),
        event_type,
        schema_version: schema_version as u32,
        payload,
        metadata,
        recorded_at,
    })
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let outcome = {
            let _writer = self.write_lock.lock().await;
            match expected {
                ExpectedVersion::Exact(base) if (1..=MAX_FAST_BATCH).contains(&events.len()) => {
                    self.append_exact(stream_id, expected, base, &events)
                        .await?
                }
                ExpectedVersion::NoStream if (1..=MAX_FAST_BATCH).contains(&events.len()) => {
                    self.append_exact(stream_id, expected, 0, &events).await?
                }
                _ => self.try_append(stream_id, expected, &events).await?,
            }
        };
        if outcome.last_position.is_some() {
            self.appended.send_replace(());
        }
        Ok(outcome)
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        sqlx::query(SELECT_STREAM)
            .bind(stream_id.as_str())
            .bind(from_version as i64)
            .fetch(&self.pool)
            .map_err(StoreError::backend)
            .and_then(|row| async move { decode_row(&row) })
            .boxed()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(SELECT_ALL)
            .bind(after.sequence as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(decode_row).collect()
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        current_version(&mut conn, stream_id).await
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.appended.subscribe()
    }
}

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
