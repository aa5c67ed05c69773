//! An [`IdempotencyStore`](crate::IdempotencyStore) on SQLite (feature `sqlite`).
//!
//! For consumers whose state lives in SQLite: the handler writes its rows
//! through the same `sqlx` transaction in which the event id is recorded.
//! Two tables, created by [`SqliteIdempotencyStore::migrate`]:
//! `es_amqp_processed (consumer, event_id)` and
//! `es_amqp_stream_versions (consumer, stream_id, last_version)`.
//! The steps are shared with the PostgreSQL store; this file holds SQLite's
//! SQL for them.

use sqlx::{sqlite::SqliteQueryResult, Sqlite, SqlitePool};

use super::sql::{sqlx_idempotency_store, SqlIdempotency};

/// SQLite's column types and statements for the two tables.
const SQL: SqlIdempotency<Sqlite> = SqlIdempotency {
    version_type: "INTEGER",
    processed_at_type: "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    version_column: "SQLite's INTEGER",
    count_processed: "SELECT COUNT(*) FROM es_amqp_processed WHERE consumer = ?",
    select_last_version:
        "SELECT last_version FROM es_amqp_stream_versions WHERE consumer = ? AND stream_id = ?",
    insert_processed: "INSERT INTO es_amqp_processed (consumer, event_id, stream_id, version)
             VALUES (?, ?, ?, ?) ON CONFLICT (consumer, event_id) DO NOTHING",
    upsert_last_version:
        "INSERT INTO es_amqp_stream_versions (consumer, stream_id, last_version) VALUES (?, ?, ?)
             ON CONFLICT (consumer, stream_id)
             DO UPDATE SET last_version = MAX(last_version, excluded.last_version)",
    rows_affected: SqliteQueryResult::rows_affected,
};

/// Processed-event records in a SQLite database (cheap to clone).
#[derive(Debug, Clone)]
pub struct SqliteIdempotencyStore {
    pool: SqlitePool,
}

sqlx_idempotency_store!(SqliteIdempotencyStore, Sqlite, SqlitePool);
