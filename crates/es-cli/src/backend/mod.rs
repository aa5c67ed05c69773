//! The stores `es` can inspect, behind one small type.
//!
//! Commands talk to a [`Backend`]: the log (PostgreSQL or SQLite) and,
//! when projections keep their checkpoints in a database of their own, that
//! checkpoint database ([`CheckpointDb`]). Reads go through es-core's
//! `EventStore` contract (which it implements by delegation, so
//! `Subscription` works on it), and listings, lag and checkpoint moves
//! through each backend's own SQL against the store's tables.

mod checkpoint_db;
mod log_reads;
pub mod model;
mod postgres;
mod rows;
mod sqlite;
mod store_url;

use std::time::Duration;

use es_core::{
    async_trait, AppendOutcome, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent,
    ReplayEvent, StoreError, StreamId,
};
use es_lease::LeaseHolder;
use futures::stream::BoxStream;
use tokio::sync::watch;

pub use postgres::{Horizon, PostgresBackend};

use crate::{cli::GlobalArgs, error::CliError};
use checkpoint_db::CheckpointDb;
use model::{Backlog, Checkpoint, Head, StreamFilter, StreamSummary};
use sqlite::SqliteBackend;
use store_url::StoreUrl;

/// A connected event store, and the checkpoint database beside it, if any.
#[derive(Clone)]
pub struct Backend {
    log: Log,
    checkpoint_db: Option<CheckpointDb>,
}

/// The log's database, by kind.
#[derive(Clone)]
enum Log {
    /// PostgreSQL (es-postgres).
    Postgres(PostgresBackend),
    /// SQLite (es-sqlite).
    Sqlite(SqliteBackend),
}

/// Calls the same method on whichever kind of log this is.
macro_rules! dispatch {
    ($self:ident, $backend:ident => $call:expr) => {
        match &$self.log {
            Log::Postgres($backend) => $call,
            Log::Sqlite($backend) => $call,
        }
    };
}

impl Backend {
    /// Connects to the store (`--store`, see [`GlobalArgs::store_url`]) and
    /// to the checkpoint database, if one is given
    /// ([`GlobalArgs::checkpoints_url`]).
    pub async fn connect(global: &GlobalArgs) -> Result<Self, CliError> {
        let url = global.store_url().ok_or_else(|| {
            CliError::Usage(
                "no store given: pass --store URL or set ES_STORE_URL (or EVENT_STORE_DATABASE_URL)"
                    .into(),
            )
        })?;
        let timeout: Duration = global.connect_timeout;
        let log = match StoreUrl::parse(&url)? {
            StoreUrl::Postgres(url) => Log::Postgres(
                PostgresBackend::connect(&url, global.schema.as_deref(), timeout).await?,
            ),
            StoreUrl::Sqlite { url, path } => {
                if global.schema.is_some() {
                    return Err(CliError::Usage(
                        "--schema applies to PostgreSQL stores only; a SQLite store is one file"
                            .into(),
                    ));
                }
                Log::Sqlite(SqliteBackend::open(&url, &path, timeout).await?)
            }
        };
        let checkpoint_db = match global.checkpoints_url(&url) {
            Some(checkpoints) => {
                Some(CheckpointDb::connect(&checkpoints, global.schema.as_deref(), timeout).await?)
            }
            None => None,
        };
        Ok(Self { log, checkpoint_db })
    }

    /// The PostgreSQL store, if the log is on PostgreSQL.
    pub fn postgres(&self) -> Option<&PostgresBackend> {
        match &self.log {
            Log::Postgres(postgres) => Some(postgres),
            Log::Sqlite(_) => None,
        }
    }

    /// The kind of store, for messages.
    pub fn kind(&self) -> &'static str {
        match self.log {
            Log::Postgres(_) => "a PostgreSQL store",
            Log::Sqlite(_) => "a SQLite store",
        }
    }

    /// A page of streams.
    pub async fn streams(&self, filter: &StreamFilter) -> Result<Vec<StreamSummary>, CliError> {
        dispatch!(self, b => b.streams(filter).await)
    }

    /// Up to `limit` streams whose id ends with `-{suffix}` (what a stream
    /// id given without its category may have meant).
    pub async fn streams_ending_with(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<String>, CliError> {
        dispatch!(self, b => b.streams_ending_with(suffix, limit).await)
    }

    /// Every checkpoint (projections and relays share the table; those of
    /// the checkpoint database too), by name.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, CliError> {
        let mut all = dispatch!(self, b => b.checkpoints().await)?;
        if let Some(db) = &self.checkpoint_db {
            all.extend(db.checkpoints().await?);
            // By name; of two of one name, the checkpoint database's first
            // (the projection's own, which `checkpoint` finds).
            all.sort_by_key(|c| (c.name.clone(), c.stored_in == model::StoredIn::Log));
        }
        Ok(all)
    }

    /// How many events lie after `after`, and when the first was recorded.
    pub async fn backlog(&self, after: Position) -> Result<Backlog, CliError> {
        dispatch!(self, b => b.backlog(after).await)
    }

    /// The last event of the log, if any.
    pub async fn head(&self) -> Result<Option<Head>, CliError> {
        dispatch!(self, b => b.head().await)
    }

    /// Moves checkpoint `name` to `to`, returning where it was, or an error
    /// naming the known checkpoints if there is none of that name.
    /// A name kept in both databases is moved in the checkpoint database
    /// (the projection's own), never in both.
    pub async fn move_checkpoint(&self, name: &str, to: Position) -> Result<Position, CliError> {
        if let Some(db) = &self.checkpoint_db {
            if let Some(previous) = db.move_checkpoint(name, to).await? {
                return Ok(previous);
            }
        }
        match dispatch!(self, b => b.move_checkpoint(name, to).await)? {
            Some(previous) => Ok(previous),
            None => Err(self.unknown_checkpoint(name).await),
        }
    }

    /// Who holds the lease named `name` (workers run under a lease named
    /// after their checkpoint), if anyone.
    /// A checkpoint name no lease could have (too long, control
    /// characters) has no holder.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, CliError> {
        if es_lease::check_lease_name(name).is_err() {
            return Ok(None);
        }
        dispatch!(self, b => b.lease_holder(name).await)
    }

    /// The stored checkpoint `name`, or an error naming the known ones.
    pub async fn checkpoint(&self, name: &str) -> Result<Checkpoint, CliError> {
        let all = self.checkpoints().await?;
        all.iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| unknown(name, &all))
    }

    async fn unknown_checkpoint(&self, name: &str) -> CliError {
        match self.checkpoints().await {
            Ok(all) => unknown(name, &all),
            Err(error) => error,
        }
    }
}

fn unknown(name: &str, all: &[Checkpoint]) -> CliError {
    let known = if all.is_empty() {
        "none".to_owned()
    } else {
        all.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    CliError::UnknownCheckpoint {
        name: name.to_owned(),
        known,
    }
}

#[async_trait]
impl EventStore for Backend {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        dispatch!(self, b => b.store().append(stream_id, expected, events).await)
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        dispatch!(self, b => b.store().read_stream(stream_id, from_version))
    }

    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        dispatch!(self, b => b.store().replay_stream(stream_id, from_version))
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, b => b.store().read_all(after, limit).await)
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        dispatch!(self, b => b.store().stream_version(stream_id).await)
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        dispatch!(self, b => b.store().append_notifications())
    }

    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        dispatch!(self, b => b.store().count_after(after).await)
    }
}
