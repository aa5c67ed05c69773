//! The PostgreSQL backend: es-postgres's store plus `es`'s own queries.
//!
//! Connecting never migrates: an operator tool must not create a schema by
//! accident, so a schema without `es_events` is reported as "no event store".

mod horizon;
pub mod queries;

use std::time::Duration;

use es_core::Position;
use es_lease::{LeaseHolder, LeaseStore};
use es_postgres::{PostgresConfig, PostgresLeaseConfig, PostgresLeases, PostgresStore};

pub use horizon::Horizon;

use crate::{
    backend::{
        model::{signed, Backlog, Checkpoint, Head, StoredIn, StreamFilter, StreamSummary},
        rows,
    },
    error::CliError,
};
use queries::{Queries, TABLE_EXISTS};

/// A connected PostgreSQL event store.
#[derive(Clone)]
pub struct PostgresBackend {
    store: PostgresStore,
    sql: std::sync::Arc<Queries>,
    /// The leases of the store's database (default namespace), for holders.
    leases: PostgresLeases,
}

impl PostgresBackend {
    /// Connects to `url` (schema `schema` or the default) and checks the
    /// event store is there.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, CliError> {
        let mut config = PostgresConfig::new(url)
            .with_pool_size(2)
            .with_acquire_timeout(timeout);
        if let Some(schema) = schema {
            config = config.with_schema(schema)?;
        }
        let redacted = config.redacted_url();
        // The lease settings accept at most an hour.
        let lease_config = PostgresLeaseConfig::new()
            .with_connect_timeout(timeout.min(Duration::from_secs(3600)))
            .map_err(|source| CliError::Lease {
                name: "(settings)".into(),
                source,
            })?;
        let leases = PostgresLeases::new(config.clone(), lease_config)?;
        let store = tokio::time::timeout(timeout, PostgresStore::connect_with(config))
            .await
            .map_err(|_| CliError::Timeout {
                what: format!("connecting to PostgreSQL at {redacted}"),
                after: timeout,
            })??;
        let backend = Self {
            sql: std::sync::Arc::new(Queries::new(store.schema())),
            store,
            leases,
        };
        let table = format!("{}.es_events", backend.store.schema().quoted());
        let exists: bool = sqlx::query_scalar(TABLE_EXISTS)
            .bind(&table)
            .fetch_one(backend.store.pool())
            .await
            .map_err(CliError::query("look for the event store"))?;
        if !exists {
            return Err(CliError::NoEventStore {
                location: format!("{redacted} (schema {})", backend.store.schema()),
                table,
            });
        }
        Ok(backend)
    }

    /// The es-postgres store (for reads through the `EventStore` contract).
    pub fn store(&self) -> &PostgresStore {
        &self.store
    }

    /// A page of streams.
    pub async fn streams(&self, filter: &StreamFilter) -> Result<Vec<StreamSummary>, CliError> {
        self.sql.log.streams(self.store.pool(), filter).await
    }

    /// Up to `limit` streams whose id ends with `-{suffix}`.
    pub async fn streams_ending_with(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<String>, CliError> {
        self.sql
            .log
            .streams_ending_with(self.store.pool(), suffix, limit)
            .await
    }

    /// Every checkpoint, by name.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, CliError> {
        self.sql
            .log
            .checkpoints(self.store.pool(), StoredIn::Log)
            .await
    }

    /// How many events lie after `after`, and when the first was recorded.
    pub async fn backlog(&self, after: Position) -> Result<Backlog, CliError> {
        self.sql.log.backlog(self.store.pool(), after).await
    }

    /// The last event of the log, if any.
    pub async fn head(&self) -> Result<Option<Head>, CliError> {
        self.sql.log.head(self.store.pool()).await
    }

    /// Who holds the lease `name` (the advisory lock of es-postgres's
    /// default lease namespace in this database), if anyone.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, CliError> {
        self.leases
            .holder(name)
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
        move_checkpoint(self.store.pool(), &self.sql, name, to).await
    }
}

/// Moves checkpoint `name` in `pool`'s checkpoint table (of the schema `sql`
/// was made for) to `to`; `None` if there is no such checkpoint, else where
/// it was.
pub async fn move_checkpoint(
    pool: &sqlx::PgPool,
    sql: &Queries,
    name: &str,
    to: Position,
) -> Result<Option<Position>, CliError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.move_checkpoint.as_str()))
        .bind(name)
        .bind(signed(to.commit))
        .bind(signed(to.sequence))
        .fetch_optional(pool)
        .await
        .map_err(CliError::query("move the checkpoint"))?;
    row.map(|row| rows::position(&row, 0, 1)).transpose()
}
