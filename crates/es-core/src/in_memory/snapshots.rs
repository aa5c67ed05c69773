//! The in-memory store's snapshots: the newest per stream wins.

use async_trait::async_trait;

use crate::{Snapshot, SnapshotStore, StoreError, StreamId};

use super::InMemoryStore;

#[async_trait]
impl SnapshotStore for InMemoryStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.lock().snapshots.get(stream_id).cloned())
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let newer = inner
            .snapshots
            .get(&snapshot.stream_id)
            .is_some_and(|s| s.version > snapshot.version);
        if !newer {
            inner.snapshots.insert(snapshot.stream_id.clone(), snapshot);
        }
        Ok(())
    }
}
