//! Appending: the one-statement fast path for a stated version, the
//! transaction for the other cases, and telling a conflict, a clash of event
//! ids and a re-send of a committed batch apart.

use chrono::{DateTime, Utc};
use es_core::backend::{check_expected_version, RecordedId};
use es_core::{AppendOutcome, ExpectedVersion, NewEvent, Position, StoreError, StreamId};
use sqlx::{query::QueryScalar, sqlite::SqliteArguments, AssertSqlSafe, Row, Sqlite};
use uuid::Uuid;

use super::{
    dcb_store::{first_match, insert_tags, Tagged},
    read::stored_stream_id,
    SqliteStore,
};

impl SqliteStore {
    /// The fast path for an exact expected version (what the repository
    /// uses): one multi-row `INSERT … SELECT … WHERE <version check>`
    /// statement in autocommit mode, so a command costs one statement. SQLite
    /// takes the write lock when the statement starts and materialises the
    /// SELECT before inserting, so the check and the insert are atomic.
    pub(super) async fn append_exact(
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
        // Only fixed text and `?` placeholders: every value is bound below.
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for (offset, event) in events.iter().enumerate() {
            query = bind_event(
                query,
                stream_id,
                base + 1 + offset as u64,
                event,
                recorded_at,
            )?;
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
                    resent: false,
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

    pub(super) async fn try_append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
        tagged: Option<Tagged<'_>>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::backend)?;
        if let Some(condition) = tagged.and_then(|tagged| tagged.condition) {
            // Under the write lock: nothing commits between this check and
            // the inserts below.
            if let Some(first_match) = first_match(&mut tx, condition).await? {
                if let Some(outcome) = previous_append(&mut tx, stream_id, events).await? {
                    return Ok(outcome);
                }
                return Err(StoreError::AppendConditionFailed {
                    condition: Box::new(condition.clone()),
                    first_match,
                });
            }
        }
        let current = current_version(&mut tx, stream_id).await?;
        if events.is_empty() {
            check_expected_version(stream_id, expected, current)?;
            return Ok(AppendOutcome::nothing_written(current));
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
            let insert = sqlx::query_scalar::<_, i64>(
                "INSERT INTO es_events (event_id, stream_id, version, event_type, schema_version, \
                 payload, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING position",
            );
            let version = current + 1 + offset as u64;
            let inserted = bind_event(insert, stream_id, version, event, recorded_at)?
                .fetch_one(&mut *tx)
                .await;
            match inserted {
                Ok(position) => {
                    if let Some(tags) = tagged.and_then(|tagged| tagged.tags.get(offset)) {
                        insert_tags(&mut tx, position, tags).await?;
                    }
                    positions.push(position as u64)
                }
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
            resent: false,
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
        // validate_append refused ids repeated in the batch, and the
        // version check ran under the write lock: nothing explains the
        // violation but a row that vanished meanwhile. Transient.
        Err(StoreError::backend(format!(
            "an append to {stream_id} hit a unique index, yet no id of its batch is recorded"
        )))
    }
}

/// The stream's current version (`0` when it has no events).
pub(super) async fn current_version(
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

/// Looks the batch's ids up and applies es-core's
/// [`previous_append`](es_core::backend::previous_append) rule: the earlier append's
/// outcome for an exact re-send, `None` when no id is recorded,
/// [`StoreError::DuplicateEventId`] for an id recorded elsewhere.
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
            let position: i64 = row.try_get(2).map_err(StoreError::backend)?;
            let version: i64 = row.try_get(1).map_err(StoreError::backend)?;
            let stream = row.try_get(0).map_err(StoreError::backend)?;
            found.push(RecordedId {
                event_id: event.event_id,
                stream_id: stored_stream_id(stream, position)?.0,
                version: version as u64,
                position: Position::from_sequence(position as u64),
            });
        }
    }
    let batch: Vec<Uuid> = events.iter().map(|event| event.event_id).collect();
    es_core::backend::previous_append(stream_id, &batch, found)
}

/// Binds one event's eight columns in the order of the `INSERT` column list:
/// payload and metadata as the JSON text serde_json writes (kept verbatim).
fn bind_event<'q>(
    query: QueryScalar<'q, Sqlite, i64, SqliteArguments>,
    stream_id: &'q StreamId,
    version: u64,
    event: &'q NewEvent,
    recorded_at: DateTime<Utc>,
) -> Result<QueryScalar<'q, Sqlite, i64, SqliteArguments>, StoreError> {
    let encode = |source| StoreError::Encode {
        event_type: event.event_type.clone(),
        source,
    };
    let payload = serde_json::to_string(&event.payload).map_err(encode)?;
    let metadata = serde_json::to_string(&event.metadata).map_err(encode)?;
    Ok(query
        .bind(event.event_id.to_string())
        .bind(stream_id.as_str())
        .bind(i64::try_from(version).unwrap_or(i64::MAX))
        .bind(event.event_type.as_str())
        .bind(i64::from(event.schema_version))
        .bind(payload)
        .bind(metadata)
        .bind(recorded_at))
}
