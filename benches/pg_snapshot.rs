//! P4: loading a 1,000-event aggregate, with and without a snapshot.
//!
//! The same stream of 1,000 events is loaded through two repositories (cache
//! off): one replays all 1,000 events, the other reads the snapshot taken at
//! version 1,000 and an empty tail.

mod pg_support;
mod support;

use criterion::{criterion_group, Criterion};
use es_core::{Aggregate, DomainEvent, Repository, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const GROUP: &str = "p4_pg_load_1000";
const EVENTS: u64 = 1000;

/// A counter: the smallest aggregate with a long stream.
struct Tally;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum TallyEvent {
    Added { by: i64 },
}

impl DomainEvent for TallyEvent {
    fn event_type(&self) -> &'static str {
        "Added"
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Tally {
    const TYPE: &'static str = "tally";
    type State = i64;
    type Command = i64;
    type Event = TallyEvent;
    type Error = Never;
    fn handle(_: &i64, by: i64) -> Result<Vec<TallyEvent>, Never> {
        Ok(vec![TallyEvent::Added { by }])
    }
    fn apply(state: i64, event: &TallyEvent) -> i64 {
        match event {
            TallyEvent::Added { by } => state + by,
        }
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(4));
    let plain = Repository::<Tally, _>::new(store.clone()).with_cache_capacity(0);
    let snapshotting = Repository::<Tally, _>::new(store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(EVENTS));
    let id = Uuid::now_v7();
    runtime.block_on(async {
        // 999 events in batches, then the 1,000th through the repository,
        // which takes the snapshot.
        let stream = Repository::<Tally, es_postgres::PostgresStore>::stream_id(id);
        for chunk in 0..9u64 {
            let events: Vec<_> = (0..111)
                .map(|_| {
                    es_core::NewEvent::from_domain(&TallyEvent::Added { by: 1 }).expect("encode")
                })
                .collect();
            es_core::EventStore::append(
                &store,
                &stream,
                es_core::ExpectedVersion::Exact(chunk * 111),
                events,
            )
            .await
            .expect("append");
        }
        snapshotting.execute(id, 1).await.expect("1,000th event");
        let loaded = plain.load(id).await.expect("load");
        assert_eq!((loaded.version, loaded.state), (EVENTS, EVENTS as i64));
        let loaded = snapshotting.load(id).await.expect("load");
        assert_eq!((loaded.version, loaded.state), (EVENTS, EVENTS as i64));
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
    group.finish();
    runtime.block_on(pg_support::drop_schemas(&[&store]));
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        GROUP,
        "with_snapshot",
        "without_snapshot",
        1.0,
        "loads/s; the snapshot should win by a wide margin",
    );
}
