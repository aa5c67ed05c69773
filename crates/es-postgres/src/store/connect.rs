//! Building a store: connecting, wrapping a pool, migrating, and the handles
//! it hands out (pool, schema, checkpoint store, notifications).

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use sqlx::PgPool;

use super::{Inner, PostgresStore};
use crate::{
    append_notifications::AppendNotifications,
    migrations,
    statements::{notify_channel, Statements},
    PostgresCheckpoints, PostgresConfig, PostgresError, SchemaName,
};

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
            config.session_script()?,
            config.schema().clone(),
            config.notify_interval(),
        ))
    }

    /// Wraps an existing pool; the store lives in `schema` (and notifies
    /// other processes at most every [`crate::DEFAULT_NOTIFY_INTERVAL`]).
    pub fn from_pool(pool: PgPool, schema: SchemaName) -> Self {
        Self::build(pool, None, schema, crate::DEFAULT_NOTIFY_INTERVAL)
    }

    /// `session_script`: the session limits' `SET` script, for the
    /// connections the store opens beside `pool` (`LISTEN`, `NOTIFY`).
    fn build(
        pool: PgPool,
        session_script: Option<Arc<str>>,
        schema: SchemaName,
        notify_interval: Duration,
    ) -> Self {
        let channel = notify_channel(&schema);
        Self {
            inner: Arc::new(Inner {
                sql: Statements::new(&schema),
                notifications: AppendNotifications::new(
                    &pool,
                    session_script,
                    channel,
                    notify_interval,
                ),
                pool,
                schema,
                checked: AtomicBool::new(false),
            }),
        }
    }

    /// Creates the schema and its tables if needed (events, snapshots,
    /// checkpoints) and brings older schemas up to date. Idempotent and safe
    /// to run from several processes at once.
    ///
    /// Then checks the stored transaction ids against the cluster's:
    /// [`PostgresError::RestoredDatabase`] when the database was restored
    /// from another cluster and needs the repair described there.
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        migrations::run(
            &self.inner.pool,
            &self.inner.schema,
            &[migrations::EVENT_STORE, migrations::CHECKPOINTS],
        )
        .await?;
        match self.find_restored(&self.inner.pool, None).await {
            Ok(None) => Ok(()),
            Ok(Some(restored)) => Err(restored.into()),
            Err(source) => Err(PostgresError::Migrate {
                schema: self.inner.schema.to_string(),
                source,
            }),
        }
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

    /// Wakes this store's subscribers and sends a `NOTIFY` to every other
    /// listener of the schema (coalesced, in the background). Appends through
    /// [`es_core::EventStore::append`] do this themselves.
    pub fn notify_appended(&self) {
        self.inner.notifications.signal();
    }
}
