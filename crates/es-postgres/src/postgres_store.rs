//! The PostgreSQL event store and snapshot store.
//!
//! See the crate documentation for the design of the append statement and of
//! the gap-safe global log; this module is their implementation.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use es_core::{
    check_expected_version, AppendOutcome, DecodeFailure, EventStore, ExpectedVersion, Metadata,
    NewEvent, Position, RecordedEvent, ReplayEvent, Snapshot, SnapshotStore, StoreError, StreamId,
};
use futures::{stream::BoxStream, StreamExt};
use sqlx::{postgres::PgRow, types::Json, Connection, PgConnection, PgPool, Row};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    append_notifications::AppendNotifications,
    migrations,
    statements::{notify_channel, Statements},
    PostgresCheckpoints, PostgresConfig, PostgresError, SchemaName,
};

/// How often an append with a stated expected version whose classification
/// raced with another writer is attempted again before it gives up.
const APPEND_ATTEMPTS: usize = 3;

/// The same for appends after the current version (`Any`, `StreamExists`):
/// each failed attempt means another writer appended to the stream (progress
/// was made), so these try longer.
const APPEND_CURRENT_ATTEMPTS: usize = 64;

/// How long [`EventStore::read_all`] waits, when it has nothing safe to
/// return, for committed events held back by an older transaction that is
/// still running (usually a concurrent append about to commit). After that it
/// returns an empty page; the events are delivered by a later read.
pub const HELD_BACK_WAIT: Duration = Duration::from_secs(1);

/// The longest pause between two checks while waiting for held-back events.
const MAX_HELD_BACK_PAUSE: Duration = Duration::from_millis(20);

/// The PostgreSQL event store (and snapshot store) of one schema.
///
/// Cheap to clone: clones share the pool, the prepared statement texts and the
/// notification listener. Call [`migrate`](Self::migrate) once (at start-up)
/// before using a new schema.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    schema: SchemaName,
    sql: Statements,
    notifications: AppendNotifications,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema.as_str())
            .finish_non_exhaustive()
    }
}

/// One batch as the columns of the append statement.
struct Columns {
    ids: Vec<Uuid>,
    types: Vec<String>,
    schema_versions: Vec<i32>,
    payloads: Vec<serde_json::Value>,
    metadata: Vec<serde_json::Value>,
}

impl Columns {
    /// Takes the batch apart (moving payloads, not copying them).
    fn new(events: Vec<NewEvent>) -> Result<Self, StoreError> {
        let mut columns = Columns {
            ids: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            schema_versions: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
        };
        for event in events.into_iter() {
            let metadata =
                serde_json::to_value(&event.metadata).map_err(|source| StoreError::Encode {
                    event_type: event.event_type.clone(),
                    source,
                })?;
            let schema_version = i32::try_from(event.schema_version).map_err(|_| {
                StoreError::InvalidInput(format!(
                    "schema version {} of {} is too large",
                    event.schema_version, event.event_type
                ))
            })?;
            columns.ids.push(event.event_id);
            columns.types.push(event.event_type);
            columns.schema_versions.push(schema_version);
            columns.payloads.push(event.payload);
            columns.metadata.push(metadata);
        }
        Ok(columns)
    }

    /// The only event of a batch of one, as the single-event statement binds it.
    #[allow(clippy::type_complexity)]
    fn single(&self) -> Option<(&Uuid, &String, &i32, &serde_json::Value, &serde_json::Value)> {
        match (
            &self.ids[..],
            &self.types[..],
            &self.schema_versions[..],
            &self.payloads[..],
            &self.metadata[..],
        ) {
            ([id], [event_type], [schema_version], [payload], [metadata]) => {
                Some((id, event_type, schema_version, payload, metadata))
            }
            _ => None,
        }
    }
}

impl PostgresStore {
    /// Connects to `url` with the default schema (`es`) and pool size.
    /// Does not migrate: call [`migrate`](Self::migrate).
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresConfig::new(url)).await
    }

    /// Connects with `config`. Does not migrate: call [`migrate`](Self::migrate).
    pub async fn connect_with(config: PostgresConfig) -> Result<Self, PostgresError> {
        let pool = config.connect_pool().await?;
        Ok(Self::build(
            pool,
            config.schema().clone(),
            config.notify_interval(),
        ))
    }

    /// Wraps an existing pool; the store lives in `schema` (and notifies
    /// other processes at most every [`crate::DEFAULT_NOTIFY_INTERVAL`]).
    pub fn from_pool(pool: PgPool, schema: SchemaName) -> Self {
        Self::build(pool, schema, crate::DEFAULT_NOTIFY_INTERVAL)
    }

    fn build(pool: PgPool, schema: SchemaName, notify_interval: Duration) -> Self {
        let channel = notify_channel(&schema);
        Self {
            inner: Arc::new(Inner {
                sql: Statements::new(&schema),
                notifications: AppendNotifications::new(&pool, channel, notify_interval),
                pool,
                schema,
            }),
        }
    }

    /// Creates the schema and its tables if needed (streams, events,
    /// snapshots, checkpoints). Idempotent and safe to run from several
    /// processes at once.
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        migrations::run(
            &self.inner.pool,
            &self.inner.schema,
            &[migrations::EVENT_STORE, migrations::CHECKPOINTS],
        )
        .await
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The schema the store lives in.
    pub fn schema(&self) -> &SchemaName {
        &self.inner.schema
    }

    /// A checkpoint store for projections kept in this same database and
    /// schema. Projections in another database use
    /// [`PostgresCheckpoints::connect_with`].
    pub fn checkpoints(&self) -> PostgresCheckpoints {
        PostgresCheckpoints::from_pool(self.inner.pool.clone(), self.inner.schema.clone())
    }

    /// Appends inside a transaction (or on a connection) that the caller
    /// controls, to commit events atomically with other writes of the same
    /// database. The append runs in a savepoint, so a refused append leaves
    /// the caller's transaction usable. Call
    /// [`notify_appended`](Self::notify_appended) after committing to wake
    /// subscribers at once (otherwise their safety-net poll finds the events).
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_on(conn, stream_id, expected, events, true)
            .await
    }

    /// Wakes this store's subscribers and sends a `NOTIFY` to every other
    /// listener of the schema (coalesced, in the background). Appends through
    /// [`EventStore::append`] do this themselves.
    pub fn notify_appended(&self) {
        self.inner.notifications.signal();
    }

    async fn append_on(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        savepoint: bool,
    ) -> Result<AppendOutcome, StoreError> {
        if events.is_empty() {
            let current = self.version_on(conn, stream_id).await?;
            check_expected_version(stream_id, expected, current)?;
            return Ok(AppendOutcome {
                version: current,
                first_position: None,
                last_position: None,
            });
        }
        let mut seen = HashSet::with_capacity(events.len());
        if let Some(twice) = events.iter().find(|e| !seen.insert(e.event_id)) {
            return Err(StoreError::InvalidInput(format!(
                "event id {} appears twice in one batch",
                twice.event_id
            )));
        }
        let columns = Columns::new(events)?;
        let attempts = match expected {
            ExpectedVersion::Any | ExpectedVersion::StreamExists => APPEND_CURRENT_ATTEMPTS,
            ExpectedVersion::NoStream | ExpectedVersion::Exact(_) => APPEND_ATTEMPTS,
        };
        for _ in 0..attempts {
            let written = if savepoint {
                let mut tx = conn.begin().await.map_err(StoreError::backend)?;
                let written = self
                    .append_statement(&mut tx, stream_id, expected, &columns)
                    .await;
                if written.is_ok() {
                    tx.commit().await.map_err(StoreError::backend)?;
                } else {
                    tx.rollback().await.map_err(StoreError::backend)?;
                }
                written
            } else {
                self.append_statement(conn, stream_id, expected, &columns)
                    .await
            };
            match written {
                Ok(Some(outcome)) => return Ok(outcome),
                // The expected-version check refused the batch (no row), or
                // a version or an id of the batch is recorded already (a
                // unique violation): a re-send of an append that committed,
                // a clash of ids, or a conflict.
                Ok(None) => {}
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {}
                Err(error) => return Err(StoreError::backend(error)),
            }
            if let Some(outcome) = self.previous_append(conn, stream_id, &columns.ids).await? {
                return Ok(outcome);
            }
            let actual = self.version_on(conn, stream_id).await?;
            if !expected.is_satisfied_by(actual) {
                return Err(StoreError::Conflict {
                    stream_id: stream_id.clone(),
                    expected,
                    actual,
                });
            }
            // The stream moved between the statement and this check (or the
            // clashing row was rolled back meanwhile): try again.
        }
        Err(StoreError::backend(format!(
            "append to {stream_id} kept racing with other writers after {attempts} attempts"
        )))
    }

    /// Runs the one append statement; `None` when the version check refused.
    async fn append_statement(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        columns: &Columns,
    ) -> Result<Option<AppendOutcome>, sqlx::Error> {
        // `$2`: the stated version, or whether the stream must exist.
        let (exact, check) = match expected {
            ExpectedVersion::NoStream => (true, 0),
            ExpectedVersion::Exact(v) => (true, to_i64(v)),
            ExpectedVersion::Any => (false, 0),
            ExpectedVersion::StreamExists => (false, 1),
        };
        let sql = &self.inner.sql;
        let query = match (columns.ids.len(), exact) {
            (1, true) => sqlx::query(&sql.append_one_exact),
            (1, false) => sqlx::query(&sql.append_one_current),
            (_, true) => sqlx::query(&sql.append_exact),
            (_, false) => sqlx::query(&sql.append_current),
        }
        .bind(stream_id.as_str())
        .bind(check);
        let query = match columns.single() {
            Some((id, event_type, schema_version, payload, metadata)) => query
                .bind(id)
                .bind(event_type)
                .bind(schema_version)
                .bind(payload)
                .bind(metadata),
            None => query
                .bind(&columns.ids)
                .bind(&columns.types)
                .bind(&columns.schema_versions)
                .bind(&columns.payloads)
                .bind(&columns.metadata),
        };
        let row = query.fetch_optional(&mut *conn).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0)?;
        let txid: i64 = row.try_get(1)?;
        let first: i64 = row.try_get(2)?;
        let last: i64 = row.try_get(3)?;
        Ok(Some(AppendOutcome {
            version: version as u64,
            first_position: Some(Position::new(txid as u64, first as u64)),
            last_position: Some(Position::new(txid as u64, last as u64)),
        }))
    }

    /// If every id of the batch is recorded at consecutive versions of
    /// `stream_id`, the outcome of that earlier append; an id recorded
    /// anywhere else is [`StoreError::DuplicateEventId`].
    async fn previous_append(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        ids: &[Uuid],
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let rows = sqlx::query(&self.inner.sql.find_event_ids)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get(0).map_err(StoreError::backend)?;
            let stream: String = row.try_get(1).map_err(StoreError::backend)?;
            let version: i64 = row.try_get(2).map_err(StoreError::backend)?;
            let txid: i64 = row.try_get(3).map_err(StoreError::backend)?;
            let sequence: i64 = row.try_get(4).map_err(StoreError::backend)?;
            let index = ids.iter().position(|i| *i == id).unwrap_or(usize::MAX);
            found.push((
                index,
                id,
                stream,
                version as u64,
                Position::new(txid as u64, sequence as u64),
            ));
        }
        found.sort_by_key(|f| f.0);
        let Some(first) = found.first() else {
            return Ok(None);
        };
        let same_append = found.len() == ids.len()
            && found.iter().all(|f| f.2 == stream_id.as_str())
            && found.windows(2).all(|w| w[1].3 == w[0].3 + 1);
        if !same_append {
            let clash = found
                .iter()
                .find(|f| f.2 != stream_id.as_str())
                .unwrap_or(first);
            return Err(StoreError::DuplicateEventId {
                event_id: clash.1,
                existing_stream: StreamId::new(clash.2.clone()).map_err(StoreError::backend)?,
                existing_version: clash.3,
            });
        }
        let last = &found[found.len() - 1];
        Ok(Some(AppendOutcome {
            version: last.3,
            first_position: Some(first.4),
            last_position: Some(last.4),
        }))
    }

    async fn version_on(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
    ) -> Result<u64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(&self.inner.sql.stream_version)
            .bind(stream_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        Ok(version.unwrap_or(0) as u64)
    }
}

/// Decodes a row of [`Statements`]' event columns. `stream` is the stream
/// the rows were read from, if the query was for one stream (its rows then
/// leave the `stream_id` column out, saving its transfer and validation).
fn decode_row(row: &PgRow, stream: Option<&StreamId>) -> Result<RecordedEvent, StoreError> {
    let get = |e: sqlx::Error| StoreError::backend(e);
    let sequence: i64 = row.try_get(0).map_err(get)?;
    let txid: i64 = row.try_get(1).map_err(get)?;
    let event_id: Uuid = row.try_get(2).map_err(get)?;
    let version: i64 = row.try_get(3).map_err(get)?;
    let event_type: String = row.try_get(4).map_err(get)?;
    let schema_version: i32 = row.try_get(5).map_err(get)?;
    let payload: serde_json::Value = row.try_get(6).map_err(get)?;
    let metadata = row.try_get::<Json<Metadata>, _>(7);
    let recorded_at: DateTime<Utc> = row.try_get(8).map_err(get)?;
    let stream_id = match stream {
        Some(stream) => stream.clone(),
        None => {
            StreamId::new(row.try_get::<String, _>(9).map_err(get)?).map_err(StoreError::backend)?
        }
    };
    let metadata = match metadata {
        Ok(Json(metadata)) => metadata,
        Err(sqlx::Error::ColumnDecode { source, .. }) => {
            return Err(es_core::DecodeError {
                stream_id,
                version: version as u64,
                event_type,
                schema_version: schema_version as u32,
                failure: DecodeFailure::Envelope(format!("metadata: {source}")),
            }
            .into())
        }
        Err(error) => return Err(StoreError::backend(error)),
    };
    Ok(RecordedEvent {
        event_id,
        stream_id,
        version: version as u64,
        position: Position::new(txid as u64, sequence as u64),
        event_type,
        schema_version: schema_version as u32,
        payload,
        metadata,
        recorded_at,
    })
}

/// Decodes a row of the replay statement.
fn decode_replay_row(row: &PgRow) -> Result<ReplayEvent, StoreError> {
    let get = |e: sqlx::Error| StoreError::backend(e);
    let version: i64 = row.try_get(0).map_err(get)?;
    let schema_version: i32 = row.try_get(2).map_err(get)?;
    Ok(ReplayEvent {
        version: version as u64,
        event_type: row.try_get(1).map_err(get)?,
        schema_version: schema_version as u32,
        payload: row.try_get(3).map_err(get)?,
    })
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut conn = self
            .inner
            .pool
            .acquire()
            .await
            .map_err(StoreError::backend)?;
        let outcome = self
            .append_on(&mut conn, stream_id, expected, events, false)
            .await?;
        if outcome.last_position.is_some() {
            self.inner.notifications.signal();
        }
        Ok(outcome)
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        sqlx::query(&self.inner.sql.read_stream)
            .bind(stream_id.as_str())
            .bind(to_i64(from_version))
            .fetch(&self.inner.pool)
            .map(move |row| {
                row.map_err(StoreError::backend)
                    .and_then(|row| decode_row(&row, Some(stream_id)))
            })
            .boxed()
    }

    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        sqlx::query(&self.inner.sql.replay_stream)
            .bind(stream_id.as_str())
            .bind(to_i64(from_version))
            .fetch(&self.inner.pool)
            .map(|row| {
                row.map_err(StoreError::backend)
                    .and_then(|row| decode_replay_row(&row))
            })
            .boxed()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let deadline = Instant::now() + HELD_BACK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let rows = sqlx::query(&self.inner.sql.read_all)
                .bind(to_i64(after.commit))
                .bind(to_i64(after.sequence))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.inner.pool)
                .await
                .map_err(StoreError::backend)?;
            if !rows.is_empty() || limit == 0 {
                return rows.iter().map(|row| decode_row(row, None)).collect();
            }
            // Nothing was safe to hand out at that query's snapshot. Is
            // anything committed after `after` now? (Asked at a new
            // snapshot: a transaction that held the page back may have
            // finished in between, and then the page is safe already.)
            let pending: Option<i64> = sqlx::query_scalar(&self.inner.sql.pending)
                .bind(to_i64(after.commit))
                .bind(to_i64(after.sequence))
                .fetch_one(&self.inner.pool)
                .await
                .map_err(StoreError::backend)?;
            let Some(pending) = pending else {
                return Ok(Vec::new());
            };
            // Wait (briefly) until every transaction below it has finished,
            // then read again.
            loop {
                let xmin: i64 = sqlx::query_scalar(&self.inner.sql.snapshot_xmin)
                    .fetch_one(&self.inner.pool)
                    .await
                    .map_err(StoreError::backend)?;
                if xmin > pending {
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

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(&self.inner.sql.stream_version)
            .bind(stream_id.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(version.unwrap_or(0) as u64)
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.inner.notifications.subscribe()
    }
}

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
