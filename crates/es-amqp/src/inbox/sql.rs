//! The processed-event bookkeeping both sqlx idempotency stores share.
//!
//! The PostgreSQL and the SQLite store keep the same two tables and take the
//! same steps to record an event: insert its id (a conflict means a
//! duplicate), read the stream's last applied version, raise it. Only the SQL
//! dialect differs — placeholders, column types, `GREATEST` or `MAX` — so
//! each store describes its dialect in a [`SqlIdempotency`], and the steps
//! and the store's methods ([`sqlx_idempotency_store`]) are written once,
//! here.

use es_core::{BoxError, RecordedEvent, StreamId};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type,
};

use crate::Recorded;

/// One SQL dialect's column types and statements for the two tables, and the
/// steps that run them on a database `DB`.
pub(crate) struct SqlIdempotency<DB: Database> {
    /// The type of the `version` and `last_version` columns.
    pub version_type: &'static str,
    /// The type and default of `es_amqp_processed.processed_at`.
    pub processed_at_type: &'static str,
    /// How the version column is named in "version … does not fit {…}".
    pub version_column: &'static str,
    /// Counts a consumer's processed events (binds: consumer).
    pub count_processed: &'static str,
    /// Reads a stream's last applied version (binds: consumer, stream id).
    pub select_last_version: &'static str,
    /// Inserts a processed event, doing nothing on a conflict (binds:
    /// consumer, event id, stream id, version).
    pub insert_processed: &'static str,
    /// Inserts or raises a stream's last version (binds: consumer, stream id,
    /// version).
    pub upsert_last_version: &'static str,
    /// How many rows a statement changed (sqlx has no trait for it).
    pub rows_affected: fn(&DB::QueryResult) -> u64,
}

impl<DB> SqlIdempotency<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q, 'r> i64: Encode<'q, DB> + Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// Creates the two tables if they do not exist.
    pub async fn migrate(&self, pool: &Pool<DB>) -> Result<(), sqlx::Error> {
        let processed = format!(
            "CREATE TABLE IF NOT EXISTS es_amqp_processed (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                version {version} NOT NULL,
                processed_at {processed_at},
                PRIMARY KEY (consumer, event_id)
            )",
            version = self.version_type,
            processed_at = self.processed_at_type,
        );
        sqlx::query(sqlx::AssertSqlSafe(processed))
            .execute(pool)
            .await?;
        let stream_versions = format!(
            "CREATE TABLE IF NOT EXISTS es_amqp_stream_versions (
                consumer TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                last_version {version} NOT NULL,
                PRIMARY KEY (consumer, stream_id)
            )",
            version = self.version_type,
        );
        sqlx::query(sqlx::AssertSqlSafe(stream_versions))
            .execute(pool)
            .await?;
        Ok(())
    }

    /// How many events `consumer` has recorded.
    pub async fn processed_count(
        &self,
        pool: &Pool<DB>,
        consumer: &str,
    ) -> Result<u64, sqlx::Error> {
        let count: i64 = sqlx::query_scalar(self.count_processed)
            .bind(consumer)
            .fetch_one(pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The highest applied version of `stream_id` for `consumer`.
    pub async fn last_version(
        &self,
        pool: &Pool<DB>,
        consumer: &str,
        stream_id: &StreamId,
    ) -> Result<Option<u64>, sqlx::Error> {
        let version: Option<i64> = sqlx::query_scalar(self.select_last_version)
            .bind(consumer)
            .bind(stream_id.as_str())
            .fetch_optional(pool)
            .await?;
        Ok(version.and_then(|v| u64::try_from(v).ok()))
    }

    /// Records `event` as processed by `consumer` inside `tx` and raises the
    /// stream's last version, or reports that it already was recorded.
    pub async fn record(
        &self,
        tx: &mut Transaction<'static, DB>,
        consumer: &str,
        event: &RecordedEvent,
    ) -> Result<Recorded, BoxError> {
        es_core::backend::check_consumer_name(consumer)?;
        let version = i64::try_from(event.version).map_err(|_| {
            format!(
                "version {} does not fit {}",
                event.version, self.version_column
            )
        })?;
        let inserted = sqlx::query(self.insert_processed)
            .bind(consumer)
            .bind(event.event_id.to_string())
            .bind(event.stream_id.as_str())
            .bind(version)
            .execute(&mut **tx)
            .await?;
        if (self.rows_affected)(&inserted) == 0 {
            return Ok(Recorded::Duplicate);
        }
        let previous: Option<i64> = sqlx::query_scalar(self.select_last_version)
            .bind(consumer)
            .bind(event.stream_id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        sqlx::query(self.upsert_last_version)
            .bind(consumer)
            .bind(event.stream_id.as_str())
            .bind(version)
            .execute(&mut **tx)
            .await?;
        Ok(Recorded::New {
            previous_version: previous.and_then(|v| u64::try_from(v).ok()),
        })
    }
}

/// Writes a sqlx store's methods and its [`IdempotencyStore`] impl, which
/// delegate to its dialect's [`SqlIdempotency`] constant `SQL`.
///
/// `$store` is a struct with one field, `pool: $pool`; `$db` is the sqlx
/// database.
///
/// [`IdempotencyStore`]: crate::IdempotencyStore
macro_rules! sqlx_idempotency_store {
    ($store:ident, $db:ty, $pool:ty) => {
        impl $store {
            /// Records into `pool`'s database. Call [`migrate`](Self::migrate) once.
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }

            /// The pool (to read the handler's own tables).
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Creates the two tables if they do not exist.
            pub async fn migrate(&self) -> Result<(), sqlx::Error> {
                SQL.migrate(&self.pool).await
            }

            /// How many events `consumer` has recorded.
            pub async fn processed_count(&self, consumer: &str) -> Result<u64, sqlx::Error> {
                SQL.processed_count(&self.pool, consumer).await
            }

            /// The highest applied version of `stream_id` for `consumer`.
            pub async fn last_version(
                &self,
                consumer: &str,
                stream_id: &es_core::StreamId,
            ) -> Result<Option<u64>, sqlx::Error> {
                SQL.last_version(&self.pool, consumer, stream_id).await
            }
        }

        #[es_core::async_trait]
        impl $crate::IdempotencyStore for $store {
            type Transaction = sqlx::Transaction<'static, $db>;

            async fn begin(&self) -> Result<Self::Transaction, es_core::BoxError> {
                Ok(self.pool.begin().await?)
            }

            async fn record(
                &self,
                tx: &mut Self::Transaction,
                consumer: &str,
                event: &es_core::RecordedEvent,
            ) -> Result<$crate::Recorded, es_core::BoxError> {
                SQL.record(tx, consumer, event).await
            }

            async fn commit(&self, tx: Self::Transaction) -> Result<(), es_core::BoxError> {
                Ok(tx.commit().await?)
            }

            async fn rollback(&self, tx: Self::Transaction) -> Result<(), es_core::BoxError> {
                Ok(tx.rollback().await?)
            }
        }
    };
}

pub(crate) use sqlx_idempotency_store;
