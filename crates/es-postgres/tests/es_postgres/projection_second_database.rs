//! A projection in a SECOND database: the runner is killed mid-batch (its
//! task aborted, then its connection terminated by the server) and
//! restarted; every event is applied exactly once because the checkpoint
//! commits with the projection's rows in the projection's database.

use std::{sync::Arc, time::Duration};

use crate::common::{run_sql_blocking, Counter, TestStore};
use es_core::{
    async_trait, testing::conformance::CountingProjection, BoxError, CheckpointStore, EventStore,
    ExpectedVersion, NewEvent, Projection, ProjectionRunner, RecordedEvent, StreamId,
};
use es_postgres::{sqlx, PostgresCheckpoints, PostgresConfig, PostgresTransaction};
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

/// Creates a database `es_proj_<random>` and drops it (with FORCE) when dropped.
struct ProjectionDatabase {
    name: String,
}

impl ProjectionDatabase {
    async fn create() -> Self {
        let name = format!("es_proj_{}", Uuid::new_v4().simple());
        let mut admin =
            <sqlx::PgConnection as sqlx::Connection>::connect(&crate::common::database_url())
                .await
                .expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the projection database");
        Self { name }
    }

    fn url(&self) -> String {
        // Same server and settings, another database name.
        let base = crate::common::database_url();
        let (url, query) = match base.split_once('?') {
            Some((url, query)) => (url.to_owned(), format!("?{query}")),
            None => (base.clone(), String::new()),
        };
        let (server, _) = url.rsplit_once('/').expect("a URL with a database");
        format!("{server}/{}{query}", self.name)
    }
}

impl Drop for ProjectionDatabase {
    fn drop(&mut self) {
        run_sql_blocking(
            crate::common::database_url(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// What the sabotaged projection does after its `after`-th apply of one run.
#[derive(Clone, Copy)]
enum Sabotage {
    /// Tell the test, then hang forever (the test aborts the task).
    Hang,
    /// Tell the test the backend pid, then wait for the server to kill the
    /// connection (the next statement fails).
    ReportPid,
}

/// Wraps the counter: applies normally, then sabotages mid-batch.
struct Sabotaged {
    inner: Counter,
    after: usize,
    sabotage: Sabotage,
    applied: std::sync::atomic::AtomicUsize,
    reached: mpsc::UnboundedSender<i32>,
    never: Arc<Notify>,
}

#[async_trait]
impl Projection<PostgresTransaction> for Sabotaged {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        self.inner.apply(tx, event).await?;
        let n = self
            .applied
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if n == self.after {
            match self.sabotage {
                Sabotage::Hang => {
                    let _ = self.reached.send(0);
                    self.never.notified().await;
                }
                Sabotage::ReportPid => {
                    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                        .fetch_one(&mut **tx)
                        .await?;
                    let _ = self.reached.send(pid);
                    // Keep using the connection until the server kills it.
                    loop {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        sqlx::query("SELECT 1").execute(&mut **tx).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_mid_batch_and_restarted_applies_every_event_exactly_once() {
    let store = TestStore::new().await;
    let database = ProjectionDatabase::create().await;
    let config = PostgresConfig::new(database.url())
        .with_schema("projections")
        .expect("schema")
        .with_pool_size(4);
    let checkpoints = PostgresCheckpoints::connect_with(config)
        .await
        .expect("connect");
    checkpoints.migrate().await.expect("migrate");
    checkpoints.migrate().await.expect("migrate is idempotent");
    let counter = Counter::new(checkpoints.clone()).await;

    let mut sent = Vec::new();
    for i in 0..40 {
        let s = StreamId::new(format!("proj-{}-{}", i % 4, Uuid::now_v7())).expect("stream id");
        let batch: Vec<NewEvent> = (0..10)
            .map(|n| NewEvent::raw("Happened", serde_json::json!({ "n": n })))
            .collect();
        sent.extend(batch.iter().map(|e| e.event_id));
        store
            .append(&s, ExpectedVersion::NoStream, batch)
            .await
            .expect("append");
    }

    for (after, sabotage) in [(130, Sabotage::Hang), (75, Sabotage::ReportPid)] {
        let (reached, mut reached_rx) = mpsc::unbounded_channel();
        let projection = Sabotaged {
            inner: counter.clone(),
            after,
            sabotage,
            applied: Default::default(),
            reached,
            never: Arc::new(Notify::new()),
        };
        let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), projection)
            .expect("a valid projection name")
            .with_batch_size(50);
        let task = tokio::spawn(async move { runner.run().await });
        let pid = tokio::time::timeout(Duration::from_secs(30), reached_rx.recv())
            .await
            .expect("the runner reached the sabotage point")
            .expect("sabotage signal");
        match sabotage {
            Sabotage::Hang => task.abort(),
            Sabotage::ReportPid => {
                let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(pid)
                    .fetch_one(store.store.pool())
                    .await
                    .expect("terminate");
                assert!(killed, "the projection's connection was terminated");
                let outcome = tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .expect("the runner stops when its connection dies")
                    .expect("runner task");
                assert!(outcome.is_err(), "the runner reports the lost connection");
            }
        }
        // An aborted or killed batch never committed, so it is not visible.
        let counts = counter.applied().await;
        assert!(
            counts.values().all(|&n| n == 1),
            "a batch was applied twice"
        );
        assert!(
            counts.len() % 50 == 0,
            "only whole batches are committed: {}",
            counts.len()
        );
        assert!(counts.len() < sent.len(), "the runner was stopped mid-log");
    }

    // Restart: a fresh runner finishes the log; every event exactly once.
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), counter.clone())
        .expect("a valid projection name")
        .with_batch_size(50);
    let reached = runner.catch_up().await.expect("catch up after restart");
    let counts = counter.applied().await;
    assert_eq!(counts.len(), sent.len(), "every event is applied");
    assert!(
        counts.values().all(|&n| n == 1),
        "an event was applied twice"
    );
    assert!(sent.iter().all(|id| counts.contains_key(id)));
    assert_eq!(
        checkpoints
            .load_checkpoint("counter")
            .await
            .expect("checkpoint"),
        reached
    );
    checkpoints.pool().close().await;
}
