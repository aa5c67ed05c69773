//! Embedded SQLite command throughput on a Booking-like lifecycle.
//!
//! One iteration = one booking created, reserved and completed through the
//! repository: three commands, three commits, one client. The baseline in the
//! same run is raw sqlx: three single-row INSERT commits into a table of the
//! same shape, on a database file opened with the same settings (WAL,
//! synchronous = NORMAL).

mod support;

use criterion::{criterion_group, Criterion, Throughput};
use es_core::Repository;
use es_sqlite::{sqlx, SqliteStore};
use support::lifecycle::{Lifecycle, Step};
use uuid::Uuid;

const GROUP: &str = "sqlite_lifecycle";

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = runtime
        .block_on(SqliteStore::open(dir.path().join("events.db")))
        .expect("open the store");
    let repository = Repository::<Lifecycle, _>::new(store);
    let raw = runtime
        .block_on(SqliteStore::open(dir.path().join("raw.db")))
        .expect("open the raw database");
    let raw_pool = raw.pool().clone();

    let mut group = c.benchmark_group(GROUP);
    group.throughput(Throughput::Elements(3));
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(4));
    group.bench_function("repository", |b| {
        b.to_async(&runtime).iter(|| async {
            let id = Uuid::now_v7();
            for step in [Step::Create("slot".into()), Step::Reserve, Step::Complete] {
                repository.execute(id, step).await.expect("command");
            }
        })
    });
    group.bench_function("raw_insert", |b| {
        b.to_async(&runtime).iter(|| async {
            let stream = format!("booking-{}", Uuid::now_v7());
            for (version, event_type) in [(1, "BookingCreated"), (2, "BookingReserved"), (3, "BookingCompleted")] {
                sqlx::query(
                    "INSERT INTO es_events (event_id, stream_id, version, event_type, schema_version, \
                     payload, metadata, recorded_at) VALUES (?, ?, ?, ?, 1, ?, '{}', ?)",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(&stream)
                .bind(version)
                .bind(event_type)
                .bind(r#"{"parking_slot_ref_no":"slot"}"#)
                .bind(chrono_now())
                .execute(&raw_pool)
                .await
                .expect("raw insert");
            }
        })
    });
    group.finish();
}

fn chrono_now() -> String {
    // The raw baseline stores a timestamp string as the store does.
    format!("{:?}", std::time::SystemTime::now())
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
        "goal: >= 1,840 events/s, 5x the Python library",
    );
}
