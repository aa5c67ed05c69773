//! Idempotent handling in a real database: the consumer keeps its state and
//! its processed-event records in SQLite, in one sqlx transaction per event.
//! The consumer task is killed twice mid-stream and restarted: every event is
//! applied exactly once, each stream in version order.

mod common;

use std::{sync::Arc, time::Duration};

use common::{append_events, within, Names};
use es_amqp::{
    Consumer, Handler, IdempotencyStore, IdempotentHandler, Relay, SqliteIdempotencyStore,
    TransactionalHandler,
};
use es_core::{async_trait, BoxError, InMemoryProjectionStore, InMemoryStore, RecordedEvent};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Sqlite, SqlitePool, Transaction,
};
use tokio::sync::watch;

const TIMEOUT: Duration = Duration::from_secs(300);

/// The handler's own table, written in the idempotency transaction.
struct ApplyRow;

#[async_trait]
impl TransactionalHandler<Transaction<'static, Sqlite>> for ApplyRow {
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        let in_order = i64::from(event.version == previous_version.unwrap_or(0) + 1);
        sqlx::query(
            "INSERT INTO applied (event_id, times, in_order) VALUES (?, 1, ?)
             ON CONFLICT (event_id) DO UPDATE SET times = times + 1",
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
    inner: IdempotentHandler<SqliteIdempotencyStore, ApplyRow>,
    pool: SqlitePool,
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
async fn sqlite_state_survives_a_killed_consumer_exactly_once() {
    let names = Names::new("sqlite");
    let path = std::env::temp_dir().join(format!("es-amqp-{}.db", names.suffix));
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("open SQLite");
    let idempotency = SqliteIdempotencyStore::new(pool.clone());
    idempotency.migrate().await.expect("migrate");
    sqlx::query(
        "CREATE TABLE applied (event_id TEXT PRIMARY KEY, times INTEGER NOT NULL, in_order INTEGER NOT NULL)",
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
        "SELECT COUNT(*), COALESCE(SUM(times > 1), 0), COALESCE(SUM(in_order = 0), 0) FROM applied",
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
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn store_event(store: &InMemoryStore) -> RecordedEvent {
    use es_core::{EventStore, Position};
    store
        .read_all(Position::START, 1)
        .await
        .expect("read")
        .remove(0)
}
