//! An [`IdempotencyStore`](crate::IdempotencyStore) on PostgreSQL (feature `postgres`).
//!
//! For consumers whose state lives in PostgreSQL: the handler writes its rows
//! through the same `sqlx` transaction in which the event id is recorded.
//! Two tables, created by [`PostgresIdempotencyStore::migrate`]:
//! `es_amqp_processed (consumer, event_id)` and
//! `es_amqp_stream_versions (consumer, stream_id, last_version)`.
//! The steps are shared with the SQLite store; this file holds PostgreSQL's
//! SQL for them.

use sqlx::{postgres::PgQueryResult, PgPool, Postgres};

use super::sql::{sqlx_idempotency_store, SqlIdempotency};

/// PostgreSQL's column types and statements for the two tables.
const SQL: SqlIdempotency<Postgres> = SqlIdempotency {
    version_type: "BIGINT",
    processed_at_type: "TIMESTAMPTZ NOT NULL DEFAULT now()",
    version_column: "a BIGINT",
    count_processed: "SELECT COUNT(*) FROM es_amqp_processed WHERE consumer = $1",
    select_last_version:
        "SELECT last_version FROM es_amqp_stream_versions WHERE consumer = $1 AND stream_id = $2",
    insert_processed: "INSERT INTO es_amqp_processed (consumer, event_id, stream_id, version)
             VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, event_id) DO NOTHING",
    upsert_last_version: "INSERT INTO es_amqp_stream_versions (consumer, stream_id, last_version) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, stream_id)
             DO UPDATE SET last_version = GREATEST(es_amqp_stream_versions.last_version, excluded.last_version)",
    rows_affected: PgQueryResult::rows_affected,
};

/// Processed-event records in a PostgreSQL database (cheap to clone).
#[derive(Debug, Clone)]
pub struct PostgresIdempotencyStore {
    pool: PgPool,
}

sqlx_idempotency_store!(PostgresIdempotencyStore, Postgres, PgPool);
