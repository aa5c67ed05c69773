//! PostgreSQL command throughput on a Booking-like lifecycle, one client.
//!
//! One iteration = one booking created, reserved and completed through the
//! repository: three commands, three commits (the create also reads the new
//! stream; reserve and complete are warm-cache appends, one round trip each).
//! The baseline in the same run is raw sqlx: three single-row INSERT commits
//! into a table of the same shape (the store's own migration, another schema).

mod pg_support;
mod support;

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use es_core::Repository;
use support::lifecycle::{Lifecycle, Step};
use uuid::Uuid;

const GROUP: &str = "pg_lifecycle";

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(4));
    let raw = runtime.block_on(pg_support::store(4));
    let raw_sql = pg_support::raw_insert_sql(&raw);
    let repository = Repository::<Lifecycle, _>::new(store.clone());
    let payload = serde_json::json!({ "parking_slot_ref_no": "slot" });

    let ours = || async {
        let id = Uuid::now_v7();
        for step in [Step::Create("slot".into()), Step::Reserve, Step::Complete] {
            repository.execute(id, step).await.expect("command");
        }
    };
    let baseline = || async {
        let stream = format!("booking-{}", Uuid::now_v7());
        for (version, event_type) in [
            (1, "BookingCreated"),
            (2, "BookingReserved"),
            (3, "BookingCompleted"),
        ] {
            pg_support::raw_insert(&raw, &raw_sql, &stream, version, event_type, &payload).await;
        }
    };

    let mut group = support::short_group(c, GROUP, 3, Duration::from_secs(4));
    group.bench_function("repository", |b| b.to_async(&runtime).iter(ours));
    group.bench_function("raw_insert", |b| b.to_async(&runtime).iter(baseline));
    group.finish();
    support::interleaved(
        &runtime,
        GROUP,
        300,
        3.0,
        "goal: >= 0.9x raw single-row INSERT commits, >= 3,300 events/s (2x postgres-es)",
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
        "repository",
        "raw_insert",
        3.0,
        pg_support::SEQUENTIAL_NOTE,
    );
}
