//! Two projection runners on one SQLite database, each run as
//! leader-or-standby under a SQLite lease ([`Leader::serve`]): only the
//! holder applies events; when the leader is killed (its task aborted, its
//! lease row left to expire), the standby takes over from the committed
//! checkpoint and every event is applied exactly once.

use std::{collections::HashMap, time::Duration};

use es_core::{
    async_trait, BoxError, CheckpointStore, EventStore, ExpectedVersion, NewEvent, Position,
    Projection, ProjectionRunner, RecordedEvent, StreamId,
};
use es_lease::{Leader, LeaderConfig};
use es_sqlite::{sqlx, SqliteCheckpoints, SqliteLeases, SqliteStore, SqliteTransaction};
use tokio::time::{timeout, Instant};
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Counts applications per event id in a table of the database.
#[derive(Clone)]
struct Counter(SqliteCheckpoints);

#[async_trait]
impl Projection<SqliteTransaction> for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    async fn apply(
        &self,
        tx: &mut SqliteTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        sqlx::query("INSERT INTO applied (event_id, n) VALUES (?, 1) ON CONFLICT (event_id) DO UPDATE SET n = n + 1")
            .bind(event.event_id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
    async fn reset(&self, tx: &mut SqliteTransaction) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM applied")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl Counter {
    async fn applied(&self) -> HashMap<Uuid, i64> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT event_id, n FROM applied")
            .fetch_all(self.0.pool())
            .await
            .expect("read the counting table");
        rows.into_iter()
            .map(|(id, n)| (Uuid::parse_str(&id).expect("uuid"), n))
            .collect()
    }
}

async fn append(store: &SqliteStore, n: usize) -> (Vec<Uuid>, Position) {
    let mut ids = Vec::new();
    let mut last = Position::START;
    for i in 0..n {
        let stream = StreamId::new(format!("booking-{}", i % 10)).expect("stream id");
        let event = NewEvent::raw("Happened", serde_json::json!({ "i": i }));
        ids.push(event.event_id);
        let outcome = store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await
            .expect("append");
        last = outcome.last_position.expect("one event");
    }
    (ids, last)
}

/// Waits (bounded) until the stored checkpoint reaches `last`.
async fn wait_for_checkpoint(checkpoints: &SqliteCheckpoints, last: Position) {
    timeout(TIMEOUT, async {
        while checkpoints.load_checkpoint("counter").await.expect("load") < last {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the checkpoint reaches the last event in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_under_one_lease_apply_each_event_once_when_the_leader_is_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("service.db");
    let store = SqliteStore::open(&path).await.expect("store");
    let checkpoints = SqliteCheckpoints::open(&path).await.expect("checkpoints");
    sqlx::query("CREATE TABLE applied (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        .execute(checkpoints.pool())
        .await
        .expect("create the counting table");
    let ttl = Duration::from_secs(1);
    let config = LeaderConfig::new()
        .with_retry_interval(Duration::from_millis(100))
        .and_then(|c| c.with_stop_grace(Duration::from_secs(2)))
        .expect("leader config");
    let instance = |holder: &str| {
        let (path, store, config, holder) = (
            path.clone(),
            store.clone(),
            config.clone(),
            holder.to_owned(),
        );
        let checkpoints = checkpoints.clone();
        async move {
            let leases = SqliteLeases::open(&path)
                .await
                .expect("leases")
                .with_ttl(ttl)
                .expect("ttl");
            let leader = Leader::new(leases, "counter", holder, config).expect("leader");
            let role = leader.role();
            let runner = ProjectionRunner::new(store, checkpoints.clone(), Counter(checkpoints))
                .with_batch_size(10)
                .with_poll_interval(Duration::from_millis(50));
            let task =
                tokio::spawn(async move { leader.serve(std::future::pending(), &runner).await });
            (role, task)
        }
    };

    let (mut ids, last) = append(&store, 100).await;
    let (mut role_a, task_a) = instance("a").await;
    timeout(TIMEOUT, role_a.wait_for(|r| r.is_leader()))
        .await
        .expect("a leads in time")
        .expect("a alive");
    let (mut role_b, task_b) = instance("b").await;
    wait_for_checkpoint(&checkpoints, last).await;
    assert!(!role_b.borrow().is_leader(), "one leader at a time");

    task_a.abort();
    let killed_at = Instant::now();
    let (more, last) = append(&store, 100).await;
    ids.extend(more);
    timeout(TIMEOUT, role_b.wait_for(|r| r.is_leader()))
        .await
        .expect("b takes over in time")
        .expect("b alive");
    let takeover = killed_at.elapsed();
    println!("SQLite runner lease: the standby led {takeover:?} after the leader was killed (ttl {ttl:?})");
    assert!(
        takeover <= ttl * 3,
        "takeover within the lease's time to live: {takeover:?}"
    );
    wait_for_checkpoint(&checkpoints, last).await;
    task_b.abort();

    let applied = Counter(checkpoints).applied().await;
    assert_eq!(applied.len(), 200, "every event applied");
    assert!(
        ids.iter().all(|id| applied.get(id) == Some(&1)),
        "each exactly once"
    );
}
