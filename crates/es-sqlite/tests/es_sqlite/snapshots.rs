//! Snapshots keep the revision of the aggregate state they hold: the
//! es-core snapshot check against a database file and an in-memory
//! database, and a snapshot row from before revisions were kept.

use es_core::{testing::conformance::snapshots_follow_the_state_revision, SnapshotStore, StreamId};
use es_sqlite::{sqlx, SqliteStore};

#[tokio::test]
async fn snapshots_follow_the_state_revision_in_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("events.db"))
        .await
        .expect("open the store");
    snapshots_follow_the_state_revision(store).await;
}

#[tokio::test]
async fn snapshots_follow_the_state_revision_in_memory() {
    let store = SqliteStore::in_memory().await.expect("in-memory store");
    snapshots_follow_the_state_revision(store).await;
}

#[tokio::test]
async fn a_snapshot_saved_before_revisions_were_kept_is_revision_1() {
    let store = SqliteStore::in_memory().await.expect("in-memory store");
    sqlx::query("INSERT INTO es_snapshots (stream_id, version, state) VALUES ('tally-1', 4, '{\"count\":4}')")
        .execute(store.pool())
        .await
        .expect("a row as older code wrote it");
    let stream = StreamId::new("tally-1").expect("stream id");
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("the snapshot");
    assert_eq!((snapshot.version, snapshot.revision), (4, 1));
}
