//! The SQLite backend: es-sqlite's store plus `es`'s own queries.
//!
//! Opening never creates or migrates a database: a mistyped path must be an
//! error, not a new empty store.

pub mod queries;

use std::{str::FromStr, time::Duration};

use es_core::Position;
use es_lease::LeaseHolder;
use es_sqlite::{SqliteLeases, SqliteStore};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    SqlitePool,
};

use crate::{
    backend::{
        log_reads::LogStatements,
        model::{signed, Backlog, Checkpoint, Head, StoredIn, StreamFilter, StreamSummary},
        rows,
    },
    error::CliError,
};

/// A SQLite event store file.
#[derive(Clone)]
pub struct SqliteBackend {
    store: SqliteStore,
    sql: std::sync::Arc<LogStatements>,
}

impl SqliteBackend {
    /// Opens the existing store at `url` (file `path`).
    pub async fn open(
        url: &str,
        path: &std::path::Path,
        timeout: Duration,
    ) -> Result<Self, CliError> {
        let pool = open_existing(url, path, timeout, "es_events").await?;
        Ok(Self {
            store: SqliteStore::from_pool(pool),
            sql: std::sync::Arc::new(queries::log_statements()),
        })
    }

    /// The es-sqlite store (for reads through the `EventStore` contract).
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// A page of streams.
    pub async fn streams(&self, filter: &StreamFilter) -> Result<Vec<StreamSummary>, CliError> {
        self.sql.streams(self.store.pool(), filter).await
    }

    /// Up to `limit` streams whose id ends with `-{suffix}`.
    pub async fn streams_ending_with(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<String>, CliError> {
        self.sql
            .streams_ending_with(self.store.pool(), suffix, limit)
            .await
    }

    /// Every checkpoint, by name.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, CliError> {
        self.sql.checkpoints(self.store.pool(), StoredIn::Log).await
    }

    /// How many events lie after `after`, and when the first was recorded.
    pub async fn backlog(&self, after: Position) -> Result<Backlog, CliError> {
        self.sql.backlog(self.store.pool(), after).await
    }

    /// The last event of the log, if any.
    pub async fn head(&self) -> Result<Option<Head>, CliError> {
        self.sql.head(self.store.pool()).await
    }

    /// Who holds the lease `name` (a live row of es-sqlite's lease table in
    /// this file), if anyone; never creates the table.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, CliError> {
        SqliteLeases::read_holder(self.store.pool(), name)
            .await
            .map_err(CliError::lease(name))
    }

    /// Moves checkpoint `name` to `to`; `None` if there is no such checkpoint,
    /// else where it was.
    pub async fn move_checkpoint(
        &self,
        name: &str,
        to: Position,
    ) -> Result<Option<Position>, CliError> {
        move_checkpoint(self.store.pool(), name, to).await
    }
}

/// Opens the existing SQLite database at `url` (file `path`) that has the
/// table `table` (`es_events` for a store, `es_checkpoints` for a checkpoint
/// database); never creates the file or the table.
pub async fn open_existing(
    url: &str,
    path: &std::path::Path,
    timeout: Duration,
    table: &'static str,
) -> Result<SqlitePool, CliError> {
    let location = path.display().to_string();
    let missing = |location: String| {
        if table == "es_events" {
            CliError::NoEventStore {
                location,
                table: table.into(),
            }
        } else {
            CliError::NoCheckpoints {
                location,
                table: table.into(),
            }
        }
    };
    if !path.is_file() {
        return Err(missing(format!("{location} (no such file)")));
    }
    let fail = |source| CliError::Sqlite {
        location: location.clone(),
        source,
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(fail)?
        .create_if_missing(false)
        .busy_timeout(timeout);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(fail)?;
    let has_table: bool = sqlx::query_scalar(queries::HAS_TABLE)
        .bind(table)
        .fetch_one(&pool)
        .await
        .map_err(fail)?;
    if !has_table {
        return Err(missing(location));
    }
    Ok(pool)
}

/// Moves checkpoint `name` in `pool`'s database to `to`; `None` if there is
/// no such checkpoint, else where it was.
pub async fn move_checkpoint(
    pool: &SqlitePool,
    name: &str,
    to: Position,
) -> Result<Option<Position>, CliError> {
    let fail = CliError::query;
    // BEGIN IMMEDIATE: the runner's own commits take the same write lock,
    // so the read and the move cannot interleave with one.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(fail("start a transaction"))?;
    let row = sqlx::query(queries::CHECKPOINT)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail("read the checkpoint"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let previous = rows::position(&row, 0, 1)?;
    sqlx::query(queries::MOVE_CHECKPOINT)
        .bind(name)
        .bind(signed(to.commit))
        .bind(signed(to.sequence))
        .execute(&mut *tx)
        .await
        .map_err(fail("move the checkpoint"))?;
    tx.commit()
        .await
        .map_err(fail("commit the checkpoint move"))?;
    Ok(Some(previous))
}
