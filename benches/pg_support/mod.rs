//! Shared pieces of the PostgreSQL benchmarks: a store in a fresh schema, a
//! raw baseline table of the same shape in a second schema, and cleanup.
#![allow(dead_code)]

use es_core::{Metadata, NewEvent};
use es_postgres::{sqlx, PostgresConfig, PostgresStore, SchemaName};
use uuid::Uuid;

/// The server (DATABASE_URL, default the local test database).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A migrated store in a fresh schema.
pub async fn store(pool_size: u32) -> PostgresStore {
    let schema = SchemaName::new(format!("es_bench_{}", Uuid::new_v4().simple()))
        .expect("valid schema name");
    let config = PostgresConfig::new(database_url())
        .with_schema_name(schema)
        .with_pool_size(pool_size);
    let store = PostgresStore::connect_with(config)
        .await
        .expect("connect to PostgreSQL (DATABASE_URL)");
    store.migrate().await.expect("migrate");
    store
}

/// Drops the stores' schemas.
pub async fn drop_schemas(stores: &[&PostgresStore]) {
    for store in stores {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            store.schema().quoted()
        )))
        .execute(store.pool())
        .await
        .expect("drop the bench schema");
    }
}

/// The raw single-row INSERT into `raw`'s events table (same columns and
/// indexes as the store's own), in autocommit: one round trip, one commit.
pub fn raw_insert_sql(raw: &PostgresStore) -> String {
    format!(
        "INSERT INTO {}.es_events (txid, event_id, stream_id, version, event_type, schema_version, \
         payload, metadata) VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3, $4, 1, $5, $6)",
        raw.schema().quoted()
    )
}

/// The same insert, but serialised behind one global lock held to commit
/// (`pg_advisory_xact_lock`): the "one writer at a time" design of DESIGN.md.
pub fn raw_insert_serialized_sql(raw: &PostgresStore) -> String {
    format!(
        "WITH global AS (SELECT pg_advisory_xact_lock(7277)) \
         INSERT INTO {}.es_events (txid, event_id, stream_id, version, event_type, schema_version, \
         payload, metadata) SELECT pg_current_xact_id()::text::bigint, $1, $2, $3, $4, 1, $5, $6 \
         FROM global",
        raw.schema().quoted()
    )
}

/// One raw single-row INSERT commit.
pub async fn raw_insert(
    raw: &PostgresStore,
    sql: &str,
    stream: &str,
    version: i64,
    event_type: &str,
    payload: &serde_json::Value,
) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(stream)
        .bind(version)
        .bind(event_type)
        .bind(payload)
        .bind(serde_json::to_value(Metadata::default()).expect("metadata"))
        .execute(raw.pool())
        .await
        .expect("raw insert");
}

/// `n` small events.
pub fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Incremented", serde_json::json!({ "by": i })))
        .collect()
}

/// The note of a criterion RATIO line whose goal is judged on the
/// interleaved medians instead.
pub const SEQUENTIAL_NOTE: &str =
    "criterion means, ours then raw one after the other; the goal is judged on the interleaved medians";
