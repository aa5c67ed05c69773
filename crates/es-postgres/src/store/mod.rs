//! The PostgreSQL event store and snapshot store of one schema.
//!
//! The crate documentation explains the design of the append statement and
//! of the gap-safe global log; this module holds the store's handle and its
//! trait implementations, and each concern lives in a file of its own:
//! connecting ([`connect`]), appending ([`append`]) and its commit keys in
//! older transactions ([`commit_ticket`]), reading the streams and
//! the global log ([`read`]), turning rows into events ([`decode`]),
//! snapshots ([`snapshots`]), how far followers are behind ([`lag`]) and
//! finding a database restored from another cluster ([`restore_check`]).

mod append;
mod boundary_locks;
mod commit_ticket;
mod connect;
mod dcb_store;
mod decode;
mod lag;
mod read;
mod restore_check;
mod snapshots;

use std::sync::{atomic::AtomicBool, Arc};

use async_trait::async_trait;
use es_core::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, ReplayEvent,
    StoreError, StreamId,
};
use futures::stream::BoxStream;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::{append_notifications::AppendNotifications, statements::Statements, SchemaName};

pub use read::HELD_BACK_WAIT;

/// The PostgreSQL event store (and snapshot store) of one schema.
///
/// Cheap to clone: clones share the pool, the prepared statement texts and the
/// notification listener. Call [`migrate`](Self::migrate) once (at start-up)
/// before using a new schema.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

/// What the clones of one store share.
struct Inner {
    pool: PgPool,
    schema: SchemaName,
    sql: Statements,
    notifications: AppendNotifications,
    /// Whether this handle checked its schema against the cluster's
    /// transaction counter (see [`restore_check`]).
    checked: AtomicBool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema.as_str())
            .finish_non_exhaustive()
    }
}

/// A version or position as the `bigint` PostgreSQL stores it (values past
/// `i64::MAX` cannot exist in the table, so they saturate).
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
            .append_on(&mut conn, stream_id, expected, events, &[], false)
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
        self.read_stream_rows(stream_id, from_version)
    }

    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        self.replay_stream_rows(stream_id, from_version)
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(after, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        self.version_on(&self.inner.pool, stream_id).await
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.inner.notifications.subscribe()
    }

    /// The events counted by [`lag_after`](PostgresStore::lag_after).
    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        self.lag_after(after).await.map(|lag| Some(lag.events))
    }
}
