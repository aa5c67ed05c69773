//! A complete in-memory event store, snapshot store and projection store.
//!
//! For unit tests, prototypes and single-process tools. It keeps every
//! guarantee of the contract (the conformance suite runs against it); it just
//! forgets everything when dropped.

mod dcb_store;
mod event_store;
mod projection_store;
mod snapshots;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::watch;
use uuid::Uuid;

use crate::{dcb::Tag, DecodeFailure, RecordedEvent, Snapshot, StoreError, StreamId};
#[cfg(feature = "testing")]
use crate::{EventStore, ExpectedVersion, NewEvent, Position};

pub use projection_store::InMemoryProjectionStore;

#[derive(Default)]
struct Inner {
    log: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<usize>>,
    ids: HashMap<Uuid, usize>,
    /// The tags of each tagged event, by log index.
    tags: HashMap<usize, Vec<Tag>>,
    snapshots: HashMap<StreamId, Snapshot>,
    /// Log indexes that read back as undecodable (planted by tests).
    undecodable: HashSet<usize>,
}

impl Inner {
    /// The log entry at `index` as a read returns it.
    fn read(&self, index: usize) -> Result<RecordedEvent, StoreError> {
        let event = &self.log[index];
        if self.undecodable.contains(&index) {
            return Err(event
                .decode_error(DecodeFailure::Envelope(
                    "the stored event is corrupt".to_owned(),
                ))
                .into());
        }
        Ok(event.clone())
    }
}

/// An event store in memory. Cheap to clone; clones share the data.
#[derive(Clone)]
pub struct InMemoryStore {
    inner: Arc<Mutex<Inner>>,
    appended: Arc<watch::Sender<()>>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("events", &self.lock().log.len())
            .finish()
    }
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            appended: Arc::new(watch::channel(()).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends an event to `stream_id` that every read returns as a
    /// [`StoreError::Decode`] (as a corrupt row would in a database), and
    /// returns its position. For tests of what readers do with bad data.
    #[cfg(feature = "testing")]
    pub async fn plant_undecodable(
        &self,
        stream_id: &StreamId,
        event_type: &str,
    ) -> Result<Position, StoreError> {
        let outcome = self
            .append(
                stream_id,
                ExpectedVersion::Any,
                vec![NewEvent::raw(event_type, serde_json::Value::Null)],
            )
            .await?;
        let position = outcome
            .last_position
            .ok_or_else(|| StoreError::backend("appending one event returned no position"))?;
        let mut inner = self.lock();
        let index = inner.log.partition_point(|e| e.position < position);
        inner.undecodable.insert(index);
        Ok(position)
    }
}
