//! Snapshots follow the aggregate's state revision, in the in-memory store.

use es_core::{testing::conformance::snapshots_follow_the_state_revision, InMemoryStore};

#[tokio::test]
async fn snapshots_follow_the_state_revision_in_memory() {
    snapshots_follow_the_state_revision(InMemoryStore::new()).await;
}
