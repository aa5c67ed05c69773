//! 8 concurrent writers against raw 8-client inserts.
//!
//! One iteration = 8 tasks, each appending 10 single-event batches to its own
//! stream with an exact expected version (80 appends, 80 commits), through a
//! pool of 8 connections. The baseline in the same run: 8 tasks, each making
//! 10 raw single-row INSERT commits into a table of the same shape.

mod pg_support;
mod support;

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use es_core::{EventStore, ExpectedVersion, StreamId};
use es_postgres::PostgresStore;
use uuid::Uuid;

const GROUP: &str = "pg_8_writers";
const WRITERS: usize = 8;
const APPENDS: usize = 10;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(WRITERS as u32));
    let raw = runtime.block_on(pg_support::store(WRITERS as u32));
    let raw_sql = pg_support::raw_insert_sql(&raw);
    let payload = serde_json::json!({ "by": 1 });
    // The alternative design from DESIGN.md: every append takes one global
    // lock held to commit (dense positions, one commit at a time).
    let serialized_sql = pg_support::raw_insert_serialized_sql(&raw);

    let ours = || async {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let stream = StreamId::new(format!("w-{}", Uuid::now_v7())).expect("stream id");
                    for i in 0..APPENDS {
                        store
                            .append(
                                &stream,
                                ExpectedVersion::Exact(i as u64),
                                pg_support::events(1),
                            )
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
    };
    let baseline = || raw_writers(&raw, &raw_sql, &payload);
    let serialized = || raw_writers(&raw, &serialized_sql, &payload);

    let mut group =
        support::short_group(c, GROUP, (WRITERS * APPENDS) as u64, Duration::from_secs(5));
    group.bench_function("store", |b| b.to_async(&runtime).iter(ours));
    group.bench_function("raw_insert", |b| b.to_async(&runtime).iter(baseline));
    group.finish();
    support::interleaved(
        &runtime,
        GROUP,
        40,
        (WRITERS * APPENDS) as f64,
        "goal: >= 0.8x raw 8-client INSERT commits",
        ours,
        baseline,
    );
    support::interleaved(
        &runtime,
        "pg_8_writers (ours vs raw inserts serialised by one global lock)",
        20,
        (WRITERS * APPENDS) as f64,
        "",
        ours,
        serialized,
    );
    runtime.block_on(pg_support::drop_schemas(&[&store, &raw]));
}

/// `WRITERS` tasks, each making `APPENDS` raw single-row INSERT commits
/// (`sql`) into a stream of its own.
async fn raw_writers(raw: &PostgresStore, sql: &str, payload: &serde_json::Value) {
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (raw, sql, payload) = (raw.clone(), sql.to_owned(), payload.clone());
            tokio::spawn(async move {
                let stream = format!("w-{}", Uuid::now_v7());
                for i in 0..APPENDS {
                    pg_support::raw_insert(
                        &raw,
                        &sql,
                        &stream,
                        i as i64 + 1,
                        "Incremented",
                        &payload,
                    )
                    .await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        GROUP,
        "store",
        "raw_insert",
        (WRITERS * APPENDS) as f64,
        pg_support::SEQUENTIAL_NOTE,
    );
}
