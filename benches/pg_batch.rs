//! One 100-event append against a raw single-statement 100-row insert.
//!
//! One iteration = 100 events appended to a fresh stream in one
//! `EventStore::append` (one statement, one round trip). The baseline in the
//! same run is one raw sqlx `INSERT … SELECT FROM unnest(…)` of 100 rows into
//! a table of the same shape. Both build their events inside the iteration.

mod pg_support;
mod support;

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use es_core::{EventStore, ExpectedVersion, Metadata, StreamId};
use es_postgres::sqlx;
use uuid::Uuid;

const GROUP: &str = "pg_append_100";
const BATCH: usize = 100;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(4));
    let raw = runtime.block_on(pg_support::store(4));
    let raw_sql = format!(
        "INSERT INTO {}.es_events (txid, event_id, stream_id, version, event_type, schema_version, \
         payload, metadata) \
         SELECT pg_current_xact_id()::text::bigint, e.id, $1, e.version, e.event_type, e.schema_version, \
                e.payload::json, e.metadata::json \
         FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::int4[], $6::text[], $7::text[]) \
              AS e(id, version, event_type, schema_version, payload, metadata)",
        raw.schema().quoted()
    );

    let ours = || async {
        let stream = StreamId::new(format!("batch-{}", Uuid::now_v7())).expect("stream id");
        store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                pg_support::events(BATCH),
            )
            .await
            .expect("append");
    };
    let baseline = || async {
        let stream = format!("batch-{}", Uuid::now_v7());
        let events = pg_support::events(BATCH);
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let versions: Vec<i64> = (1..=BATCH as i64).collect();
        let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
        let schema_versions: Vec<i32> = events.iter().map(|e| e.schema_version as i32).collect();
        // JSON text, as the store binds it (its columns are `json`).
        let payloads: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(&e.payload).expect("payload"))
            .collect();
        let metadata: Vec<String> = events
            .iter()
            .map(|_| serde_json::to_string(&Metadata::default()).expect("metadata"))
            .collect();
        sqlx::query(sqlx::AssertSqlSafe(raw_sql.as_str()))
            .bind(&stream)
            .bind(&ids)
            .bind(&versions)
            .bind(&types)
            .bind(&schema_versions)
            .bind(&payloads)
            .bind(&metadata)
            .execute(raw.pool())
            .await
            .expect("raw insert");
    };

    let mut group = support::short_group(c, GROUP, BATCH as u64, Duration::from_secs(4));
    group.bench_function("append", |b| b.to_async(&runtime).iter(ours));
    group.bench_function("raw_unnest", |b| b.to_async(&runtime).iter(baseline));
    group.finish();
    support::interleaved(
        &runtime,
        GROUP,
        300,
        BATCH as f64,
        "goal: >= 0.9x a raw 100-row UNNEST insert",
        ours,
        baseline,
    );
    runtime.block_on(pg_support::drop_schemas(&[&store, &raw]));
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        GROUP,
        "append",
        "raw_unnest",
        BATCH as f64,
        pg_support::SEQUENTIAL_NOTE,
    );
}
