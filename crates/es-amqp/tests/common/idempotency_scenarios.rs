//! The exactly-once scenario every sqlx idempotency store must pass.
//!
//! The PostgreSQL and SQLite tests differ only in how they open their
//! database and in the SQL of the handler's own `applied` table; the
//! scenario — kill the consumer twice mid-stream, restart it, then check that
//! every event was applied exactly once and in stream order — is written
//! once, here, and each test runs it with its store.

use std::{sync::Arc, time::Duration};

use es_amqp::{
    Consumer, Handler, IdempotencyStore, IdempotentHandler, Recorded, Relay, TransactionalHandler,
};
use es_core::{async_trait, BoxError, InMemoryProjectionStore, InMemoryStore, RecordedEvent};
use tokio::sync::watch;

use super::{append_events, within, Names};

const TIMEOUT: Duration = Duration::from_secs(300);

/// An idempotency store whose database also holds the handler's table
/// `applied (event_id, times, in_order)`: one row per applied event, `times`
/// it was applied, whether it followed its stream's previous version.
#[async_trait]
pub trait AppliedTable: IdempotencyStore + Clone + 'static {
    /// How many rows `applied` has.
    async fn applied_rows(&self) -> Result<i64, BoxError>;

    /// The rows of `applied`, those applied more than once, and those applied
    /// out of stream order.
    async fn applied_counts(&self) -> Result<(i64, i64, i64), BoxError>;

    /// How many events `consumer` recorded as processed.
    async fn processed(&self, consumer: &str) -> Result<u64, BoxError>;
}

/// Implements [`AppliedTable`] for an es-amqp sqlx store (`pool()` and
/// `processed_count()`), given the dialect's query for
/// [`applied_counts`](AppliedTable::applied_counts).
// Every test crate compiles `common`; only the idempotency tests use this.
#[allow(unused_macros)]
macro_rules! applied_table {
    ($store:ty, $counts_sql:expr) => {
        #[es_core::async_trait]
        impl $crate::common::idempotency_scenarios::AppliedTable for $store {
            async fn applied_rows(&self) -> Result<i64, es_core::BoxError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM applied")
                    .fetch_one(self.pool())
                    .await?)
            }

            async fn applied_counts(&self) -> Result<(i64, i64, i64), es_core::BoxError> {
                Ok(sqlx::query_as($counts_sql).fetch_one(self.pool()).await?)
            }

            async fn processed(&self, consumer: &str) -> Result<u64, es_core::BoxError> {
                Ok(self.processed_count(consumer).await?)
            }
        }
    };
}

#[allow(unused_imports)]
pub(crate) use applied_table;

/// Signals the number of applied rows after each committed event.
struct Counted<S, H> {
    inner: IdempotentHandler<S, H>,
    progress: Arc<watch::Sender<i64>>,
}

#[async_trait]
impl<S, H> Handler for Counted<S, H>
where
    S: AppliedTable,
    H: TransactionalHandler<S::Transaction>,
{
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        let rows = self.inner.store().applied_rows().await?;
        self.progress.send_replace(rows);
        Ok(())
    }
}

/// Relays 5,000 events to a consumer that applies them through `apply`
/// (which writes `applied`) with `idempotency`, kills the consumer task at
/// 1,000 and 2,500 applied events, restarts it, and checks that every event
/// was applied exactly once, each stream in version order, and that a
/// redelivery is recognised afterwards.
pub async fn state_survives_a_killed_consumer_exactly_once<S, H>(
    names: &Names,
    idempotency: S,
    apply: H,
) where
    S: AppliedTable,
    H: TransactionalHandler<S::Transaction> + 'static,
{
    let store = InMemoryStore::new();
    let progress = Arc::new(watch::channel(0i64).0);
    let consumer = Consumer::new(
        names.consumer_config(),
        Counted {
            inner: IdempotentHandler::new("parking", idempotency.clone(), apply),
            progress: progress.clone(),
        },
    )
    .expect("config");
    consumer.declare().await.expect("declare");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );
    let (ids, last) = append_events(&store, "booking", 20, 5_000, 5).await;
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });

    let wait_for = |n: i64| {
        let mut progress = progress.subscribe();
        async move {
            within(
                TIMEOUT,
                "the consumer",
                progress.wait_for(|rows| *rows >= n),
            )
            .await
            .expect("progress");
        }
    };
    for kill_at in [1_000, 2_500] {
        let task = tokio::spawn({
            let consumer = consumer.clone();
            async move { consumer.run().await }
        });
        wait_for(kill_at).await;
        task.abort();
        assert!(task.await.expect_err("aborted").is_cancelled());
        assert!(
            *progress.borrow() < ids.len() as i64,
            "finished before the kill"
        );
    }
    let task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    within(TIMEOUT, "the relay", relay.wait_for_confirmed(last)).await;
    wait_for(ids.len() as i64).await;

    let (rows, twice, out_of_order) = idempotency.applied_counts().await.expect("count");
    assert_eq!(rows, ids.len() as i64, "events lost");
    assert_eq!(twice, 0, "events applied twice");
    assert_eq!(out_of_order, 0, "events applied out of stream order");
    assert_eq!(
        idempotency.processed("parking").await.expect("count"),
        ids.len() as u64
    );
    // A redelivery of an applied event is recognised in a fresh transaction.
    let first = store_event(&store).await;
    let mut tx = idempotency.begin().await.expect("begin");
    assert_eq!(
        idempotency
            .record(&mut tx, "parking", &first)
            .await
            .expect("record"),
        Recorded::Duplicate
    );
    drop(tx);

    relay_task.abort();
    task.abort();
}

async fn store_event(store: &InMemoryStore) -> RecordedEvent {
    use es_core::{EventStore, Position};
    store
        .read_all(Position::START, 1)
        .await
        .expect("read")
        .remove(0)
}
