//! Snapshots: the repository saves them by policy and loads snapshot + tail.

use crate::common::TestStore;
use es_core::{Aggregate, DomainEvent, Repository, Snapshot, SnapshotPolicy, SnapshotStore};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

#[tokio::test]
async fn repository_loads_snapshot_plus_tail() {
    let store = TestStore::new().await;
    let repo = Repository::<Tally, _>::new(store.store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.store.clone(), SnapshotPolicy::EveryN(10));
    let id = Uuid::now_v7();
    for _ in 0..25 {
        repo.execute(id, 1).await.expect("command");
    }
    let stream = Repository::<Tally, es_postgres::PostgresStore>::stream_id(id).expect("stream id");
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load snapshot")
        .expect("a snapshot was taken");
    assert_eq!(snapshot.version, 20);
    assert_eq!(snapshot.state, serde_json::json!(20));
    let loaded = repo.load(id).await.expect("load");
    assert_eq!((loaded.state, loaded.version), (25, 25));

    // Prove the load starts from the snapshot: a doctored snapshot at version
    // 20 shows through, plus the 5 tail events.
    store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version: 21,
            revision: 1,
            state: serde_json::json!(1000),
        })
        .await
        .expect("save");
    let loaded = repo.load(id).await.expect("load");
    assert_eq!((loaded.state, loaded.version), (1004, 25));

    // An older snapshot never replaces a newer one.
    store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version: 10,
            revision: 1,
            state: serde_json::json!(-1),
        })
        .await
        .expect("save");
    let kept = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("some");
    assert_eq!((kept.version, kept.state), (21, serde_json::json!(1000)));

    // A snapshot that no longer decodes is ignored: full replay.
    store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version: 22,
            revision: 1,
            state: serde_json::json!("not a number"),
        })
        .await
        .expect("save");
    let loaded = repo.load(id).await.expect("load");
    assert_eq!((loaded.state, loaded.version), (25, 25));
}

#[tokio::test]
async fn snapshots_follow_the_state_revision() {
    es_core::testing::conformance::snapshots_follow_the_state_revision(TestStore::new().await)
        .await;
}

#[tokio::test]
async fn a_snapshot_saved_before_revisions_were_kept_is_revision_1() {
    let store = TestStore::new().await;
    es_postgres::sqlx::query(es_postgres::sqlx::AssertSqlSafe(format!(
        "INSERT INTO {}.es_snapshots (stream_id, version, state) VALUES ('tally-1', 4, '{{\"count\":4}}')",
        store.schema().quoted()
    )))
    .execute(store.store.pool())
    .await
    .expect("a row as older code wrote it");
    let stream = es_core::StreamId::new("tally-1").expect("stream id");
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("the snapshot");
    assert_eq!((snapshot.version, snapshot.revision), (4, 1));
}
