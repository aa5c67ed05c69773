//! The embedded event store and snapshot store.
//!
//! SQLite has one writer at a time, which makes the global log simple and safe:
//! every append runs in a `BEGIN IMMEDIATE` transaction (or is one
//! autocommit statement), so positions (`INTEGER PRIMARY KEY AUTOINCREMENT`)
//! are handed out in commit order and a reader that has seen position `p` can
//! never later find an event before `p`. Writers in the same process queue on
//! an async mutex; writers in other processes queue on SQLite's lock with a
//! busy timeout.
//!
//! This module holds the handle and the trait implementation; appending
//! ([`append`]), reading and decoding rows ([`read`]) and snapshots
//! ([`snapshots`]) live in files of their own.

mod append;
mod dcb_store;
mod read;
mod snapshots;

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use es_core::backend::validate_append;
use es_core::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, StoreError,
    StreamId,
};
use futures::stream::BoxStream;
use sqlx::SqlitePool;
use tokio::sync::{watch, Mutex};

use crate::{connection, SqliteCheckpoints, SqliteError};

/// Batches up to this size take the single-statement path (8 bound values
/// per event stay well under SQLite's limit on bound parameters).
const MAX_FAST_BATCH: usize = 1000;

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
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        validate_append(stream_id, &events)?;
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
                _ => self.try_append(stream_id, expected, &events, None).await?,
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
        self.read_stream_rows(stream_id, from_version)
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(after, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        append::current_version(&mut conn, stream_id).await
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.appended.subscribe()
    }

    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        self.count_log(after).await.map(Some)
    }
}
