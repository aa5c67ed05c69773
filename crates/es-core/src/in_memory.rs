//! A complete in-memory event store, snapshot store and projection store.
//!
//! For unit tests, prototypes and single-process tools. It keeps every
//! guarantee of the contract (the conformance suite runs against it); it just
//! forgets everything when dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    check_checkpoint, check_expected_version, previous_append, validate_append, AppendOutcome,
    CheckpointStore, EventStore, ExpectedVersion, NewEvent, Position, ProjectionError,
    RecordedEvent, RecordedId, Snapshot, SnapshotStore, StoreError, StreamId,
};

#[derive(Default)]
struct Inner {
    log: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<usize>>,
    ids: HashMap<Uuid, usize>,
    snapshots: HashMap<StreamId, Snapshot>,
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
}

/// The rows recorded for any id of the batch.
fn recorded_ids(inner: &Inner, events: &[NewEvent]) -> Vec<RecordedId> {
    events
        .iter()
        .filter_map(|event| inner.ids.get(&event.event_id))
        .map(|&index| {
            let recorded = &inner.log[index];
            RecordedId {
                event_id: recorded.event_id,
                stream_id: recorded.stream_id.clone(),
                version: recorded.version,
                position: recorded.position,
            }
        })
        .collect()
}

#[async_trait]
impl EventStore for InMemoryStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        validate_append(stream_id, &events)?;
        let mut inner = self.lock();
        let current = inner.streams.get(stream_id).map_or(0, |v| v.len() as u64);
        if events.is_empty() {
            check_expected_version(stream_id, expected, current)?;
            return Ok(AppendOutcome {
                version: current,
                first_position: None,
                last_position: None,
            });
        }
        let batch: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        if let Some(outcome) = previous_append(stream_id, &batch, recorded_ids(&inner, &events))? {
            return Ok(outcome);
        }
        check_expected_version(stream_id, expected, current)?;
        let now = Utc::now();
        let mut version = current;
        let first = inner.log.len() as u64 + 1;
        for event in events {
            version += 1;
            let index = inner.log.len();
            let position = Position::from_sequence(index as u64 + 1);
            inner.ids.insert(event.event_id, index);
            inner
                .streams
                .entry(stream_id.clone())
                .or_default()
                .push(index);
            inner.log.push(RecordedEvent {
                event_id: event.event_id,
                stream_id: stream_id.clone(),
                version,
                position,
                event_type: event.event_type,
                schema_version: event.schema_version,
                payload: event.payload,
                metadata: event.metadata,
                recorded_at: now,
            });
        }
        let last = inner.log.len() as u64;
        drop(inner);
        self.appended.send_replace(());
        Ok(AppendOutcome {
            version,
            first_position: Some(Position::from_sequence(first)),
            last_position: Some(Position::from_sequence(last)),
        })
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        let inner = self.lock();
        let events: Vec<_> = inner
            .streams
            .get(stream_id)
            .map(|indexes| {
                indexes
                    .iter()
                    .skip(from_version.saturating_sub(1) as usize)
                    .map(|&i| Ok(inner.log[i].clone()))
                    .collect()
            })
            .unwrap_or_default();
        stream::iter(events).boxed()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let start = inner.log.partition_point(|e| e.position <= after);
        Ok(inner.log[start..].iter().take(limit).cloned().collect())
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        Ok(self
            .lock()
            .streams
            .get(stream_id)
            .map_or(0, |v| v.len() as u64))
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.appended.subscribe()
    }
}

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

/// An in-memory read model of type `T` with its checkpoints.
///
/// A transaction is a working copy of `T`; committing swaps it in together
/// with the checkpoint, so a failed batch leaves no trace.
pub struct InMemoryProjectionStore<T> {
    inner: Arc<Mutex<(T, HashMap<String, Position>)>>,
}

impl<T> Clone for InMemoryProjectionStore<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Default> Default for InMemoryProjectionStore<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new((T::default(), HashMap::new()))),
        }
    }
}

impl<T: Clone> InMemoryProjectionStore<T> {
    /// A store starting from `T::default()`.
    pub fn new() -> Self
    where
        T: Default,
    {
        Self::default()
    }

    /// A copy of the committed read model.
    pub fn snapshot(&self) -> T {
        self.lock().0.clone()
    }

    fn lock(&self) -> MutexGuard<'_, (T, HashMap<String, Position>)> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl<T: Clone + Send + Sync + 'static> CheckpointStore for InMemoryProjectionStore<T> {
    type Transaction = T;

    async fn begin(&self) -> Result<T, ProjectionError> {
        Ok(self.lock().0.clone())
    }

    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError> {
        Ok(self
            .lock()
            .1
            .get(projection)
            .copied()
            .unwrap_or(Position::START))
    }

    async fn commit(
        &self,
        tx: T,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut inner = self.lock();
        let stored = inner.1.get(projection).copied().unwrap_or(Position::START);
        check_checkpoint(projection, previous, stored)?;
        inner.0 = tx;
        inner.1.insert(projection.to_owned(), checkpoint);
        Ok(())
    }
}
