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

/// Runs `ours` and `raw` alternately, `rounds` times each, after a short
/// warm-up, prints the median time of each and the throughput ratio (with
/// `goal`, if not empty, for the report's verdict), and returns our median
/// time in seconds.
///
/// Criterion measures one function after the other; on a shared machine
/// whose load (and fsync latency) drifts, that biases the ratio. Alternating
/// the two exposes them to the same conditions.
pub fn interleaved<A, AF, B, BF>(
    runtime: &tokio::runtime::Runtime,
    group: &str,
    rounds: usize,
    per_iteration: f64,
    goal: &str,
    mut ours: A,
    mut raw: B,
) -> f64
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = ()>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = ()>,
{
    async fn timed(work: impl std::future::Future<Output = ()>) -> std::time::Duration {
        let start = std::time::Instant::now();
        work.await;
        start.elapsed()
    }
    interleaved_timed(
        runtime,
        group,
        rounds,
        per_iteration,
        goal,
        || timed(ours()),
        || timed(raw()),
    )
}

/// [`interleaved`] for rounds that time themselves (each returns the time
/// of its measured part, leaving set-up and clean-up out).
pub fn interleaved_timed<A, AF, B, BF>(
    runtime: &tokio::runtime::Runtime,
    group: &str,
    rounds: usize,
    per_iteration: f64,
    goal: &str,
    mut ours: A,
    mut raw: B,
) -> f64
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = std::time::Duration>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = std::time::Duration>,
{
    runtime.block_on(async {
        for _ in 0..rounds.div_ceil(10) {
            ours().await;
            raw().await;
        }
        let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        for _ in 0..rounds {
            a.push(ours().await.as_secs_f64());
            b.push(raw().await.as_secs_f64());
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, b) = (median(&mut a), median(&mut b));
        let goal = if goal.is_empty() {
            String::new()
        } else {
            format!("; {goal}")
        };
        println!(
            "RATIO {group} (interleaved medians): ours {:.0}/s (median {:.3} ms), raw {:.0}/s (median {:.3} ms), ratio {:.2}x (over {rounds} alternating rounds{goal})",
            per_iteration / a,
            a * 1e3,
            per_iteration / b,
            b * 1e3,
            b / a
        );
        a
    })
}

/// The note of a criterion RATIO line whose goal is judged on the
/// interleaved medians instead.
pub const SEQUENTIAL_NOTE: &str =
    "criterion means, ours then raw one after the other; the goal is judged on the interleaved medians";
