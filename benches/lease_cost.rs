//! What running under a PostgreSQL lease costs: append throughput and relay
//! throughput with and without a lease held in the same process (goal: at
//! most 2 % slower).
//!
//! `lease_append`: one iteration = 100 single-event appends to new streams,
//! one after the other, on a [`PostgresStore`]. `held` runs them while a
//! [`Leader`] of this process holds a [`PostgresLeases`] lease (its own
//! session, heartbeats every second); `no_lease` runs them with no lease.
//!
//! `lease_relay`: one iteration = a [`Relay`] publishing 2,000 stored events
//! (fresh checkpoint, PostgreSQL store and checkpoint table) until the broker
//! confirmed the last. `under_lease` serves it with [`Leader::serve`] (timed
//! from the moment the lease is won: acquiring it is start-up, not
//! throughput); `no_lease` runs it with [`Relay::run`].
//!
//! Taking and releasing the lease happen outside the timed part. The goal is
//! judged on the interleaved medians (rounds alternate, so both sides see the
//! same machine load); the criterion means are printed too.
//!
//! Run: `cargo bench -p es-benches --bench lease_cost` (needs PostgreSQL at `DATABASE_URL`
//! and RabbitMQ at `AMQP_URL`).

mod amqp_support;
mod pg_support;
mod support;

use std::time::{Duration, Instant};

use amqp_support::{amqp_url, Broker};
use criterion::{criterion_group, Criterion};
use es_amqp::{Relay, RelayConfig};
use es_core::{async_trait, EventStore, ExpectedVersion, Position, StreamId};
use es_lease::{Leader, LeaderConfig, LeaderExit, LeaderWork, LeaseInfo};
use es_postgres::{
    PostgresCheckpoints, PostgresConfig, PostgresLeaseConfig, PostgresLeases, PostgresStore,
};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

const APPEND_GROUP: &str = "lease_append";
const RELAY_GROUP: &str = "lease_relay";
const APPENDS: usize = 100;
const RELAYED: usize = 2_000;
const GOAL: &str = "goal: >= 0.98x without a lease";

/// Holds the lease and does nothing else until asked to stop.
struct Idle;

#[async_trait]
impl LeaderWork for Idle {
    type Error = std::convert::Infallible;

    async fn work_under(&self, lease: LeaseInfo) -> Result<(), Self::Error> {
        lease.stopping().await;
        Ok(())
    }

    fn is_fenced(_: &Self::Error) -> bool {
        false
    }
}

/// A leader of this process serving `work` under a fresh lease.
struct Held {
    stop: oneshot::Sender<()>,
    task: JoinHandle<LeaderExit>,
}

impl Held {
    /// Starts competing for a fresh lease and returns once it leads.
    async fn take<W: LeaderWork + 'static>(leases: &PostgresLeases, work: W) -> Self {
        let name = format!("lease-bench-{}", Uuid::new_v4().simple());
        let config = LeaderConfig::new()
            .with_stop_grace(Duration::from_secs(5))
            .expect("stop grace");
        let leader = Leader::new(leases.clone(), name, "bench", config).expect("leader");
        let mut role = leader.role();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            leader
                .serve(
                    async {
                        let _ = stopped.await;
                    },
                    &work,
                )
                .await
        });
        role.wait_for(|role| role.is_leader())
            .await
            .expect("the leader runs");
        Self { stop, task }
    }

    /// Stops the work and releases the lease.
    async fn release(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the leader task");
    }
}

/// [`APPENDS`] single-event appends to new streams.
async fn appends(store: &PostgresStore) {
    for _ in 0..APPENDS {
        let stream = StreamId::new(format!("lease-{}", Uuid::now_v7())).expect("stream id");
        store
            .append(&stream, ExpectedVersion::NoStream, pg_support::events(1))
            .await
            .expect("append");
    }
}

async fn timed(work: impl std::future::Future<Output = ()>) -> Duration {
    let start = Instant::now();
    work.await;
    start.elapsed()
}

/// Appends timed while a lease is held.
async fn appends_held(store: &PostgresStore, leases: &PostgresLeases) -> Duration {
    let held = Held::take(leases, Idle).await;
    let took = timed(appends(store)).await;
    held.release().await;
    took
}

/// The relay's world: a store with [`RELAYED`] events and a broker.
struct RelayBench {
    store: PostgresStore,
    last: Position,
    broker: Broker,
    leases: PostgresLeases,
}

impl RelayBench {
    async fn new(store: PostgresStore, leases: PostgresLeases) -> Self {
        let mut last = Position::START;
        for batch in 0..RELAYED / 100 {
            let stream = StreamId::new(format!("booking-{batch}")).expect("stream id");
            last = store
                .append(&stream, ExpectedVersion::Any, pg_support::events(100))
                .await
                .expect("append")
                .last_position
                .expect("a position");
        }
        let broker = Broker::new("es-lease-bench").await;
        Self {
            store,
            last,
            broker,
            leases,
        }
    }

    /// A relay from a fresh checkpoint.
    fn relay(&self) -> Relay<PostgresStore, PostgresCheckpoints> {
        let name = format!("lease-bench-relay-{}", Uuid::new_v4().simple());
        Relay::new(
            self.store.clone(),
            self.store.checkpoints(),
            RelayConfig::builder(amqp_url(), name, &self.broker.exchange)
                .build()
                .expect("relay config"),
        )
    }

    /// Publishes everything with [`Relay::run`]; the time to the last confirm.
    async fn without_lease(&self) -> Duration {
        let relay = self.relay();
        let started = Instant::now();
        let task = tokio::spawn({
            let relay = relay.clone();
            async move { relay.run().await }
        });
        relay.wait_for_confirmed(self.last).await;
        let took = started.elapsed();
        task.abort();
        self.broker.purge().await;
        took
    }

    /// Publishes everything under a lease; the time from winning it to the
    /// last confirm.
    async fn under_lease(&self) -> Duration {
        let relay = self.relay();
        let held = Held::take(&self.leases, relay.clone()).await;
        let started = Instant::now();
        relay.wait_for_confirmed(self.last).await;
        let took = started.elapsed();
        held.release().await;
        self.broker.purge().await;
        took
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(4));
    let leases = PostgresLeases::new(
        PostgresConfig::new(pg_support::database_url()),
        PostgresLeaseConfig::new(),
    )
    .expect("leases");

    let mut group = support::short_group(c, APPEND_GROUP, APPENDS as u64, Duration::from_secs(4));
    group.bench_function("held", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (store, leases) = (&store, &leases);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += appends_held(store, leases).await;
                }
                total
            }
        })
    });
    group.bench_function("no_lease", |b| {
        b.to_async(&runtime).iter(|| appends(&store))
    });
    group.finish();
    support::interleaved_timed(
        &runtime,
        APPEND_GROUP,
        40,
        APPENDS as f64,
        GOAL,
        || appends_held(&store, &leases),
        || timed(appends(&store)),
    );

    let relay = runtime.block_on(RelayBench::new(store.clone(), leases.clone()));
    let mut group = support::short_group(c, RELAY_GROUP, RELAYED as u64, Duration::from_secs(6));
    group.bench_function("under_lease", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let relay = &relay;
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += relay.under_lease().await;
                }
                total
            }
        })
    });
    group.bench_function("no_lease", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let relay = &relay;
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += relay.without_lease().await;
                }
                total
            }
        })
    });
    group.finish();
    support::interleaved_timed(
        &runtime,
        RELAY_GROUP,
        20,
        RELAYED as f64,
        GOAL,
        || relay.under_lease(),
        || relay.without_lease(),
    );
    runtime.block_on(async {
        relay.broker.delete().await;
        pg_support::drop_schemas(&[&store]).await;
    });
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        APPEND_GROUP,
        "held",
        "no_lease",
        APPENDS as f64,
        pg_support::SEQUENTIAL_NOTE,
    );
    support::report(
        RELAY_GROUP,
        "under_lease",
        "no_lease",
        RELAYED as f64,
        pg_support::SEQUENTIAL_NOTE,
    );
}
