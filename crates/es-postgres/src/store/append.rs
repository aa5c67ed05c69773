//! Appending: the one-statement append, and telling a conflict, a clash
//! of event ids and a re-send of a committed batch apart when it fails.

use es_core::backend::{
    check_expected_version, limits::MAX_SCHEMA_VERSION, validate_append, RecordedId,
};
use es_core::dcb::Tag;
use es_core::{
    AppendOutcome, ExpectedVersion, InputField, InvalidInput, NewEvent, Position, StoreError,
    StreamId,
};
use sqlx::{Connection, PgConnection, Postgres, Row};
use uuid::Uuid;

use super::{boundary_locks::writer_keys, decode::stand_in_stream_id, to_i64, PostgresStore};

/// How often an append with a stated expected version whose classification
/// raced with another writer is attempted again before it gives up.
const APPEND_ATTEMPTS: usize = 3;

/// The same for appends after the current version (`Any`, `StreamExists`):
/// each failed attempt means another writer appended to the stream (progress
/// was made), so these try longer.
const APPEND_CURRENT_ATTEMPTS: usize = 64;

/// One batch as the columns of the append statement. Payloads and metadata
/// are the JSON text serde_json writes: the `json` columns keep it verbatim.
struct Columns {
    ids: Vec<Uuid>,
    types: Vec<String>,
    schema_versions: Vec<i32>,
    payloads: Vec<String>,
    metadata: Vec<String>,
    /// The advisory locks the append takes shared (see `boundary_locks`).
    lock_keys: Vec<i64>,
}

impl Columns {
    /// Takes the batch apart, writing payloads and metadata as JSON text.
    fn new(events: Vec<NewEvent>) -> Result<Self, StoreError> {
        let mut columns = Columns {
            ids: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            schema_versions: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
            lock_keys: Vec::new(),
        };
        for event in events.into_iter() {
            let encode = |source| StoreError::Encode {
                event_type: event.event_type.clone(),
                source,
            };
            let payload = serde_json::to_string(&event.payload).map_err(encode)?;
            let metadata = serde_json::to_string(&event.metadata).map_err(encode)?;
            // validate_append kept it within MAX_SCHEMA_VERSION = i32::MAX.
            let schema_version =
                i32::try_from(event.schema_version).map_err(|_| InvalidInput::TooLarge {
                    field: InputField::SchemaVersion,
                    value: u64::from(event.schema_version),
                    max: u64::from(MAX_SCHEMA_VERSION),
                })?;
            columns.ids.push(event.event_id);
            columns.types.push(event.event_type);
            columns.schema_versions.push(schema_version);
            columns.payloads.push(payload);
            columns.metadata.push(metadata);
        }
        Ok(columns)
    }

    /// The only event of a batch of one, as the single-event statement binds it.
    #[allow(clippy::type_complexity)]
    fn single(&self) -> Option<(&Uuid, &String, &i32, &String, &String)> {
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
    /// Appends inside a transaction (or on a connection) that the caller
    /// controls, to commit events atomically with other writes of the same
    /// database. The append runs in a savepoint, so a refused append leaves
    /// the caller's transaction usable. Call
    /// [`notify_appended`](Self::notify_appended) after committing to wake
    /// subscribers at once (otherwise their safety-net poll finds the events).
    ///
    /// The global log is ordered by commit key, which an append takes when
    /// it runs, not when the caller's transaction began: a transaction that
    /// took its id long ago is ordered after everything readers may have
    /// passed. In a `REPEATABLE READ` or `SERIALIZABLE` transaction that
    /// has an id already, the append first takes the log's writer lock and a
    /// commit ticket (see the crate documentation, "The horizon"). From
    /// then on, until the caller's transaction ends, readers of this store
    /// wait for it: keep such transactions short. [`StoreError::TransactionTooOld`]
    /// (transient: retry in a new transaction) remains the fence should the
    /// stream's last event ever carry a later key. Besides the errors of
    /// [`es_core::EventStore::append`], a database restored from another
    /// cluster is [`StoreError::NeedsRepair`] (see
    /// [`RestoredDatabase`](crate::RestoredDatabase)).
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_on(conn, stream_id, expected, events, &[], true)
            .await
    }

    pub(super) async fn append_on(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        tags: &[Vec<Tag>],
        savepoint: bool,
    ) -> Result<AppendOutcome, StoreError> {
        validate_append(stream_id, &events)?;
        self.check_opened(Some((&mut *conn, savepoint))).await?;
        if events.is_empty() {
            let current = self.version_on(&mut *conn, stream_id).await?;
            check_expected_version(stream_id, expected, current)?;
            return Ok(AppendOutcome::nothing_written(current));
        }
        let mut columns = Columns::new(events)?;
        columns.lock_keys = writer_keys(
            self.inner.schema.as_str(),
            columns.types.iter().map(String::as_str),
            tags.iter().flatten(),
        );
        let attempts = match expected {
            ExpectedVersion::Any | ExpectedVersion::StreamExists => APPEND_CURRENT_ATTEMPTS,
            ExpectedVersion::NoStream | ExpectedVersion::Exact(_) => APPEND_ATTEMPTS,
        };
        let needs_ticket = savepoint
            && self
                .needs_ticket(&mut *conn)
                .await
                .map_err(StoreError::backend)?;
        let mut ticket = 0;
        for _ in 0..attempts {
            let written = if savepoint {
                let mut tx = conn.begin().await.map_err(StoreError::backend)?;
                let written = match needs_ticket {
                    true => match self.commit_ticket(&mut tx).await {
                        Ok(drawn) => {
                            ticket = drawn;
                            self.append_statement(&mut tx, stream_id, expected, &columns, ticket)
                                .await
                        }
                        Err(error) => Err(error),
                    },
                    false => {
                        self.append_statement(&mut tx, stream_id, expected, &columns, ticket)
                            .await
                    }
                };
                if written.is_ok() {
                    tx.commit().await.map_err(StoreError::backend)?;
                } else {
                    tx.rollback().await.map_err(StoreError::backend)?;
                }
                written
            } else {
                self.append_statement(conn, stream_id, expected, &columns, ticket)
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
            let head = self.stream_head(conn, stream_id, ticket).await?;
            if head.lies_ahead_of_the_cluster() {
                if let Some(restored) = self
                    .find_restored(&mut *conn, None)
                    .await
                    .map_err(StoreError::backend)?
                {
                    return Err(restored.into());
                }
            }
            if !expected.is_satisfied_by(head.version) {
                return Err(StoreError::Conflict {
                    stream_id: stream_id.clone(),
                    expected,
                    actual: head.version,
                });
            }
            head.check_transaction(stream_id)?;
            // The stream moved between the statement and this check (or the
            // clashing row was rolled back meanwhile): try again.
        }
        Err(StoreError::backend(format!(
            "append to {stream_id} kept racing with other writers after {attempts} attempts"
        )))
    }

    /// Runs the one append statement with the commit ticket `ticket` (`0`
    /// for none); `None` when the version check refused.
    async fn append_statement(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        columns: &Columns,
        ticket: i64,
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
            (1, true) => sqlx::query(sql.append_one_exact.clone()),
            (1, false) => sqlx::query(sql.append_one_current.clone()),
            (_, true) => sqlx::query(sql.append_exact.clone()),
            (_, false) => sqlx::query(sql.append_current.clone()),
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
        }
        .bind(ticket)
        .bind(&columns.lock_keys);
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
            resent: false,
        }))
    }

    /// Looks the batch's ids up and applies es-core's
    /// [`previous_append`](es_core::backend::previous_append) rule: the earlier
    /// append's outcome for an exact re-send, `None` when no id is recorded,
    /// [`StoreError::DuplicateEventId`] for an id recorded elsewhere.
    pub(super) async fn previous_append(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        ids: &[Uuid],
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let rows = sqlx::query(self.inner.sql.find_event_ids.clone())
            .bind(ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let stored: String = row.try_get(1).map_err(StoreError::backend)?;
            let version: i64 = row.try_get(2).map_err(StoreError::backend)?;
            let txid: i64 = row.try_get(3).map_err(StoreError::backend)?;
            let sequence: i64 = row.try_get(4).map_err(StoreError::backend)?;
            let stream_id = match StreamId::new(stored) {
                Ok(stream_id) => stream_id,
                Err(_) => stand_in_stream_id(txid, sequence)?,
            };
            found.push(RecordedId {
                event_id: row.try_get(0).map_err(StoreError::backend)?,
                stream_id,
                version: version as u64,
                position: Position::new(txid as u64, sequence as u64),
            });
        }
        es_core::backend::previous_append(stream_id, ids, found)
    }

    /// The stream's last event and the commit keys it is compared with,
    /// asked (on `conn`, in the caller's transaction if any, with its commit
    /// ticket `ticket`) after the append statement refused.
    async fn stream_head(
        &self,
        conn: &mut PgConnection,
        stream_id: &StreamId,
        ticket: i64,
    ) -> Result<StreamHead, StoreError> {
        let (version, last_write, transaction, cluster_next): (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
        ) = sqlx::query_as(self.inner.sql.stream_head.clone())
            .bind(stream_id.as_str())
            .bind(ticket)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        Ok(StreamHead {
            version: version.unwrap_or(0) as u64,
            last_write: last_write.map(|txid| txid as u64),
            transaction: transaction.map(|txid| txid as u64),
            cluster_next: cluster_next as u64,
        })
    }

    /// The stream's current version (`0` when it has no events).
    pub(super) async fn version_on<'c>(
        &self,
        executor: impl sqlx::Executor<'c, Database = Postgres>,
        stream_id: &StreamId,
    ) -> Result<u64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(self.inner.sql.stream_version.clone())
            .bind(stream_id.as_str())
            .fetch_optional(executor)
            .await
            .map_err(StoreError::backend)?;
        Ok(version.unwrap_or(0) as u64)
    }
}

/// A stream's last event as a refused append sees it.
struct StreamHead {
    /// The stream's version (`0` when it has no events).
    version: u64,
    /// The commit key of its last event.
    last_write: Option<u64>,
    /// The commit key the appending transaction would take now.
    transaction: Option<u64>,
    /// The cluster's next transaction id.
    cluster_next: u64,
}

impl StreamHead {
    /// Whether the stream's last event lies ahead of the cluster's
    /// transaction counter, impossible but on a restored database.
    fn lies_ahead_of_the_cluster(&self) -> bool {
        self.last_write
            .is_some_and(|last_write| last_write >= self.cluster_next)
    }

    /// Refuses an append whose commit key would lie below the stream's last
    /// event's: the log is ordered by commit key, so its events would come
    /// before that event. (The fence of [`crate::statements`]'s version
    /// check; a visible committed event's key lies below every key an append
    /// takes now, so it does not fire on a healthy cluster.)
    fn check_transaction(&self, stream_id: &StreamId) -> Result<(), StoreError> {
        match (self.transaction, self.last_write) {
            (Some(transaction), Some(last_write)) if transaction < last_write => {
                Err(StoreError::TransactionTooOld {
                    stream_id: stream_id.clone(),
                    transaction,
                    last_write,
                })
            }
            _ => Ok(()),
        }
    }
}
