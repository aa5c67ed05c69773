//! An [`IdempotencyStore`] on SQLite (feature `sqlite`).
//!
//! For consumers whose state lives in SQLite: the handler writes its rows
//! through the same `sqlx` transaction in which the event id is recorded.
//! Two tables, created by [`SqliteIdempotencyStore::migrate`]:
//! `es_amqp_processed (consumer, event_id)` and
//! `es_amqp_stream_versions (consumer, stream_id, last_version)`.

use es_core::{async_trait, BoxError, RecordedEvent, StreamId};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{IdempotencyStore, Recorded};

/// Processed-event records in a SQLite database (cheap to clone).
#[derive(Debug, Clone)]
pub struct SqliteIdempotencyStore {
    pool: SqlitePool,
}

fn version_to_db(version: u64) -> Result<i64, BoxError> {
    i64::try_from(version)
        .map_err(|_| format!("version {version} does not fit SQLite's INTEGER").into())
}

impl SqliteIdempotencyStore {
    /// Records into `pool`'s database. Call [`migrate`](Self::migrate) once.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The pool (to read the handler's own tables).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates the two tables if they do not exist.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS es_amqp_processed (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                PRIMARY KEY (consumer, event_id)
            )",
        )
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS es_amqp_stream_versions (
                consumer TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                last_version INTEGER NOT NULL,
                PRIMARY KEY (consumer, stream_id)
            )",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many events `consumer` has recorded.
    pub async fn processed_count(&self, consumer: &str) -> Result<u64, sqlx::Error> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM es_amqp_processed WHERE consumer = ?")
                .bind(consumer)
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The highest applied version of `stream_id` for `consumer`.
    pub async fn last_version(
        &self,
        consumer: &str,
        stream_id: &StreamId,
    ) -> Result<Option<u64>, sqlx::Error> {
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT last_version FROM es_amqp_stream_versions WHERE consumer = ? AND stream_id = ?",
        )
        .bind(consumer)
        .bind(stream_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(version.and_then(|v| u64::try_from(v).ok()))
    }
}

#[async_trait]
impl IdempotencyStore for SqliteIdempotencyStore {
    type Transaction = Transaction<'static, Sqlite>;

    async fn begin(&self) -> Result<Self::Transaction, BoxError> {
        Ok(self.pool.begin().await?)
    }

    async fn record(
        &self,
        tx: &mut Self::Transaction,
        consumer: &str,
        event: &RecordedEvent,
    ) -> Result<Recorded, BoxError> {
        let version = version_to_db(event.version)?;
        let inserted = sqlx::query(
            "INSERT INTO es_amqp_processed (consumer, event_id, stream_id, version)
             VALUES (?, ?, ?, ?) ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(event.event_id.to_string())
        .bind(event.stream_id.as_str())
        .bind(version)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(Recorded::Duplicate);
        }
        let previous: Option<i64> = sqlx::query_scalar(
            "SELECT last_version FROM es_amqp_stream_versions WHERE consumer = ? AND stream_id = ?",
        )
        .bind(consumer)
        .bind(event.stream_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO es_amqp_stream_versions (consumer, stream_id, last_version) VALUES (?, ?, ?)
             ON CONFLICT (consumer, stream_id)
             DO UPDATE SET last_version = MAX(last_version, excluded.last_version)",
        )
        .bind(consumer)
        .bind(event.stream_id.as_str())
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(Recorded::New {
            previous_version: previous.and_then(|v| u64::try_from(v).ok()),
        })
    }

    async fn commit(&self, tx: Self::Transaction) -> Result<(), BoxError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(&self, tx: Self::Transaction) -> Result<(), BoxError> {
        Ok(tx.rollback().await?)
    }
}
