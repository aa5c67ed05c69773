//! The exactly-once scenario every sqlx idempotency store must pass.
//!
//! The PostgreSQL and SQLite tests differ only in how they open their
//! database and in the SQL of the handler's own `applied` table; the
//! scenario — kill the consumer twice mid-stream, restart it, then check that
//! every event was applied exactly once and in stream order — is written
//! once, here, and each test runs it with its store. [`AppliedTable`], the
//! view of a store's `applied` table the checks read, serves the `not_yet`
//! scenario too, which also runs on the in-memory store.

use std::{sync::Arc, time::Duration};

use es_amqp::{
    Consumer, Handler, IdempotencyStore, IdempotentHandler, InMemoryIdempotencyStore, Recorded,
    TransactionalHandler,
};
use es_core::{async_trait, BoxError, RecordedEvent};
use tokio::sync::watch;

use crate::harness::{append_events, spawn_consumer, spawn_relay, within, Applied, Harness};

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

    /// Creates the inbox tables and `applied`.
    async fn create_tables(&self) -> Result<(), BoxError>;
}

/// Implements [`AppliedTable`] for an es-amqp sqlx store (`pool()`,
/// `migrate()` and `processed_count()`), given the dialect's query for
/// [`applied_counts`](AppliedTable::applied_counts) and its `CREATE TABLE applied`.
macro_rules! applied_table {
    ($store:ty, $counts_sql:expr, $create_sql:expr) => {
        #[es_core::async_trait]
        impl $crate::inbox_scenario::AppliedTable for $store {
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

            async fn create_tables(&self) -> Result<(), es_core::BoxError> {
                self.migrate().await?;
                sqlx::query($create_sql).execute(self.pool()).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use applied_table;

/// The in-memory store's `applied` is the harness's [`Applied`]: an event
/// applied out of order or after a gap counts as out of order.
#[async_trait]
impl AppliedTable for InMemoryIdempotencyStore<Applied> {
    async fn applied_rows(&self) -> Result<i64, BoxError> {
        Ok(i64::try_from(self.read(|applied| applied.times.len()))?)
    }

    async fn applied_counts(&self) -> Result<(i64, i64, i64), BoxError> {
        let (rows, twice, out_of_order) = self.read(|applied| {
            (
                applied.times.len(),
                applied.times.values().filter(|&&n| n > 1).count(),
                applied.out_of_order + applied.gaps,
            )
        });
        Ok((
            i64::try_from(rows)?,
            i64::try_from(twice)?,
            i64::try_from(out_of_order)?,
        ))
    }

    async fn processed(&self, consumer: &str) -> Result<u64, BoxError> {
        Ok(u64::try_from(self.processed_count(consumer))?)
    }

    async fn create_tables(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

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
    h: &Harness,
    idempotency: S,
    apply: H,
) where
    S: AppliedTable,
    H: TransactionalHandler<S::Transaction> + 'static,
{
    idempotency
        .create_tables()
        .await
        .expect("create the tables");
    let progress = Arc::new(watch::channel(0i64).0);
    let consumer = Consumer::new(
        h.consumer_config().build().expect("config"),
        Counted {
            inner: IdempotentHandler::new("parking", idempotency.clone(), apply)
                .expect("a valid consumer name"),
            progress: progress.clone(),
        },
    );
    consumer.declare().await.expect("declare");
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "booking", 20, 5_000, 5).await;
    let _relay_task = spawn_relay(&relay);

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
        let task = spawn_consumer(&consumer);
        wait_for(kill_at).await;
        assert!(task.kill().await, "the consumer stopped by itself");
        assert!(
            *progress.borrow() < ids.len() as i64,
            "finished before the kill"
        );
    }
    let _consumer_task = spawn_consumer(&consumer);
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
    let first = h.store_event(0).await;
    let mut tx = idempotency.begin().await.expect("begin");
    assert_eq!(
        idempotency
            .record(&mut tx, "parking", &first)
            .await
            .expect("record"),
        Recorded::Duplicate
    );
    drop(tx);
}
