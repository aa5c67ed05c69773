//! Idempotent handling in PostgreSQL: the consumer keeps its state and its
//! processed-event records in its own schema, in one sqlx transaction per
//! event. The consumer task is killed twice mid-stream and restarted: every
//! event is applied exactly once, each stream in version order.

mod common;

use std::{sync::Arc, time::Duration};

use common::{append_events, within, Names};
use es_amqp::{
    Consumer, Handler, IdempotencyStore, IdempotentHandler, PostgresIdempotencyStore, Relay,
    TransactionalHandler,
};
use es_core::{async_trait, BoxError, InMemoryProjectionStore, InMemoryStore, RecordedEvent};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres, Transaction,
};
use tokio::sync::watch;

const TIMEOUT: Duration = Duration::from_secs(300);

/// The handler's own table, written in the idempotency transaction.
struct ApplyRow;

#[async_trait]
impl TransactionalHandler<Transaction<'static, Postgres>> for ApplyRow {
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        let in_order = event.version == previous_version.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO applied (event_id, times, in_order) VALUES ($1, 1, $2)
             ON CONFLICT (event_id) DO UPDATE SET times = applied.times + 1",
        )
        .bind(event.event_id.to_string())
        .bind(in_order)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Signals the number of applied rows after each committed event.
struct Counted {
    inner: IdempotentHandler<PostgresIdempotencyStore, ApplyRow>,
    pool: PgPool,
    progress: Arc<watch::Sender<i64>>,
}

#[async_trait]
impl Handler for Counted {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM applied")
            .fetch_one(&self.pool)
            .await?;
        self.progress.send_replace(rows);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_state_survives_a_killed_consumer_exactly_once() {
    let names = Names::new("postgres");
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("es_amqp_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPool::connect(&url).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    let options: PgConnectOptions = url.parse().expect("DATABASE_URL");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .expect("connect to PostgreSQL");
    let idempotency = PostgresIdempotencyStore::new(pool.clone());
    idempotency.migrate().await.expect("migrate");
    sqlx::query(
        "CREATE TABLE applied (event_id TEXT PRIMARY KEY, times INTEGER NOT NULL, in_order BOOLEAN NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create table");

    let store = InMemoryStore::new();
    let progress = Arc::new(watch::channel(0i64).0);
    let consumer = Consumer::new(
        names.consumer_config(),
        Counted {
            inner: IdempotentHandler::new("parking", idempotency.clone(), ApplyRow),
            pool: pool.clone(),
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

    let (rows, twice, out_of_order): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE times > 1), COUNT(*) FILTER (WHERE NOT in_order) FROM applied",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(rows, ids.len() as i64, "events lost");
    assert_eq!(twice, 0, "events applied twice");
    assert_eq!(out_of_order, 0, "events applied out of stream order");
    assert_eq!(
        idempotency.processed_count("parking").await.expect("count"),
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
        es_amqp::Recorded::Duplicate
    );
    drop(tx);

    relay_task.abort();
    task.abort();
    pool.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .expect("drop schema");
}

async fn store_event(store: &InMemoryStore) -> RecordedEvent {
    use es_core::{EventStore, Position};
    store
        .read_all(Position::START, 1)
        .await
        .expect("read")
        .remove(0)
}
