//! Loading a 1,000-event aggregate, with and without a snapshot.
//!
//! The same stream of 1,000 events is loaded through two repositories (cache
//! off): one replays all 1,000 events, the other reads the snapshot taken at
//! version 1,000 and an empty tail. The raw baseline in the same run selects
//! the same 1,000 rows' types and payloads with sqlx, decodes each into the
//! event and folds them: what loading costs without this library. A third
//! repository loads a 10,000-event stream from its snapshot, to show the
//! snapshot load does not grow with the stream. The aggregate is es-core's
//! test counter: the smallest aggregate with a long stream.

mod pg_support;
mod support;

use criterion::{criterion_group, Criterion};
use es_core::{
    testing::conformance::{Counter, CounterCommand, CounterEvent},
    Aggregate, EventStore, ExpectedVersion, Repository, SnapshotPolicy,
};
use es_postgres::{sqlx, PostgresStore};
use uuid::Uuid;

const GROUP: &str = "pg_load_1000";
const EVENTS: u64 = 1000;
const LONG: u64 = 10_000;
const GOAL_MS: f64 = 2.0;

/// Appends `events - 1` events in batches, then the last one through
/// `repository`, which takes the snapshot (if it has a policy).
async fn fill(
    store: &PostgresStore,
    repository: &Repository<Counter, PostgresStore>,
    id: Uuid,
    events: u64,
) {
    let stream =
        Repository::<Counter, PostgresStore>::stream_id(id).expect("a uuid names a stream");
    let mut version = 0;
    while version < events - 1 {
        let n = (events - 1 - version).min(500);
        let batch: Vec<_> = (0..n)
            .map(|_| {
                es_core::NewEvent::from_domain(&CounterEvent::Incremented { by: 1 })
                    .expect("encode")
            })
            .collect();
        store
            .append(&stream, ExpectedVersion::Exact(version), batch)
            .await
            .expect("append");
        version += n;
    }
    repository
        .execute(id, CounterCommand::Increment(1))
        .await
        .expect("last event");
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(4));
    let plain = Repository::<Counter, _>::new(store.clone()).with_cache_capacity(0);
    let snapshotting = Repository::<Counter, _>::new(store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(EVENTS));
    let id = Uuid::now_v7();
    let long_id = Uuid::now_v7();
    let raw_sql = format!(
        "SELECT event_type, payload FROM {}.es_events WHERE stream_id = $1 ORDER BY version",
        store.schema().quoted()
    );
    let stream = Repository::<Counter, PostgresStore>::stream_id(id)
        .expect("a uuid names a stream")
        .to_string();
    let raw_load = || async {
        let rows: Vec<(String, serde_json::Value)> =
            sqlx::query_as(sqlx::AssertSqlSafe(raw_sql.as_str()))
                .bind(&stream)
                .fetch_all(store.pool())
                .await
                .expect("raw select");
        rows.into_iter().fold(0i64, |state, (event_type, payload)| {
            let event: CounterEvent =
                serde_json::from_value(serde_json::json!({ event_type: payload })).expect("decode");
            Counter::apply(state, &event)
        })
    };
    runtime.block_on(async {
        fill(&store, &snapshotting, id, EVENTS).await;
        fill(&store, &snapshotting, long_id, LONG).await;
        let loaded = plain.load(id).await.expect("load");
        assert_eq!((loaded.version, loaded.state), (EVENTS, EVENTS as i64));
        let loaded = snapshotting.load(id).await.expect("load");
        assert_eq!((loaded.version, loaded.state), (EVENTS, EVENTS as i64));
        let loaded = snapshotting.load(long_id).await.expect("load");
        assert_eq!((loaded.version, loaded.state), (LONG, LONG as i64));
        assert_eq!(raw_load().await, EVENTS as i64);
    });

    let mut group = c.benchmark_group(GROUP);
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(3));
    group.bench_function("with_snapshot", |b| {
        b.to_async(&runtime)
            .iter(|| async { snapshotting.load(id).await.expect("load") })
    });
    group.bench_function("without_snapshot", |b| {
        b.to_async(&runtime)
            .iter(|| async { plain.load(id).await.expect("load") })
    });
    group.bench_function("raw_select_fold", |b| b.to_async(&runtime).iter(raw_load));
    group.bench_function("with_snapshot_10000", |b| {
        b.to_async(&runtime)
            .iter(|| async { snapshotting.load(long_id).await.expect("load") })
    });
    group.finish();
    let median = support::interleaved(
        &runtime,
        GROUP,
        200,
        1.0,
        "loads/s, without snapshot vs the raw SELECT + decode + fold",
        || async {
            plain.load(id).await.expect("load");
        },
        || async {
            raw_load().await;
        },
    );
    let _ = MEDIAN_MS.set(median * 1e3);
    runtime.block_on(pg_support::drop_schemas(&[&store]));
}

/// Our median load time without snapshot from the interleaved run (ms).
static MEDIAN_MS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        GROUP,
        "without_snapshot",
        "raw_select_fold",
        1.0,
        "loads/s; replaying 1,000 events vs a raw sqlx SELECT of their types and payloads, decoded and folded",
    );
    support::report(
        GROUP,
        "with_snapshot",
        "without_snapshot",
        1.0,
        "loads/s; the snapshot should win by a wide margin",
    );
    let ms = |function| support::mean_ns(GROUP, function).map(|ns| ns / 1e6);
    if let (Some(without), Some(with), Some(long)) = (
        ms("without_snapshot"),
        ms("with_snapshot"),
        ms("with_snapshot_10000"),
    ) {
        // Judged on the median of the interleaved run (a load's typical
        // time); the criterion mean is shown beside it.
        let median = MEDIAN_MS.get().copied().unwrap_or(without);
        println!(
            "FIGURE {GROUP}: without snapshot median {median:.2} ms, mean {without:.2} ms; with snapshot {with:.2} ms at 1,000 events, {long:.2} ms at 10,000 events (goal: <= {GOAL_MS:.0} ms without snapshot, median: {})",
            if median <= GOAL_MS { "met" } else { "MISSED" }
        );
    }
}
