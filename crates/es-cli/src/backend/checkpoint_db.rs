//! A checkpoint database apart from the log: where a projection keeps its
//! checkpoint when its read model lives in a database of its own (the
//! examples' `PROJECTOR_DATABASE_URL`, or Booking's `booking-projection.db`
//! when embedded). Without it `es projections` would list only the relay,
//! whose checkpoint sits beside the log.
//!
//! Only the checkpoint table is read (and moved, by `projection reset`); lag
//! is still measured against the log, and lease holders still come from the
//! store's database, where the services keep their leases.

use std::time::Duration;

use es_core::Position;
use es_postgres::PostgresConfig;

use crate::{
    backend::{
        model::{Checkpoint, StoredIn},
        postgres::{self, queries::Queries},
        sqlite,
        store_url::StoreUrl,
    },
    error::CliError,
};

/// A connected checkpoint database.
#[derive(Clone)]
pub enum CheckpointDb {
    /// PostgreSQL: the checkpoint table of one schema.
    Postgres {
        /// The pool.
        pool: sqlx::PgPool,
        /// The statements of that schema.
        sql: std::sync::Arc<Queries>,
    },
    /// SQLite: one file.
    Sqlite(sqlx::SqlitePool),
}

impl CheckpointDb {
    /// Connects to the checkpoint database at `url` (PostgreSQL schema
    /// `schema` or the default), checking that it has a checkpoint table.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, CliError> {
        match StoreUrl::parse(url)? {
            StoreUrl::Postgres(url) => {
                let mut config = PostgresConfig::new(url)
                    .with_pool_size(1)
                    .with_acquire_timeout(timeout);
                if let Some(schema) = schema {
                    config = config.with_schema(schema)?;
                }
                let redacted = config.redacted_url();
                let pool = tokio::time::timeout(timeout, config.connect_pool())
                    .await
                    .map_err(|_| CliError::Timeout {
                        what: format!("connecting to the checkpoint database at {redacted}"),
                        after: timeout,
                    })??;
                let table = format!("{}.es_checkpoints", config.schema().quoted());
                let exists: bool = sqlx::query_scalar(postgres::queries::TABLE_EXISTS)
                    .bind(&table)
                    .fetch_one(&pool)
                    .await
                    .map_err(CliError::query("look for the checkpoint table"))?;
                if !exists {
                    return Err(CliError::NoCheckpoints {
                        location: format!("{redacted} (schema {})", config.schema()),
                        table,
                    });
                }
                Ok(CheckpointDb::Postgres {
                    pool,
                    sql: std::sync::Arc::new(Queries::new(config.schema())),
                })
            }
            StoreUrl::Sqlite { url, path } => Ok(CheckpointDb::Sqlite(
                sqlite::open_existing(&url, &path, timeout, "es_checkpoints").await?,
            )),
        }
    }

    /// Every checkpoint it keeps, by name.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, CliError> {
        match self {
            CheckpointDb::Postgres { pool, sql } => {
                sql.log.checkpoints(pool, StoredIn::Checkpoints).await
            }
            CheckpointDb::Sqlite(pool) => {
                sqlite::queries::log_statements()
                    .checkpoints(pool, StoredIn::Checkpoints)
                    .await
            }
        }
    }

    /// Moves checkpoint `name` to `to`; `None` if it keeps no such
    /// checkpoint, else where it was.
    pub async fn move_checkpoint(
        &self,
        name: &str,
        to: Position,
    ) -> Result<Option<Position>, CliError> {
        match self {
            CheckpointDb::Postgres { pool, sql } => {
                postgres::move_checkpoint(pool, sql, name, to).await
            }
            CheckpointDb::Sqlite(pool) => sqlite::move_checkpoint(pool, name, to).await,
        }
    }
}
