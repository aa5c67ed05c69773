//! A store wrapper whose append commits and then reports a connection reset:
//! the ambiguous failure a caller cannot tell from one that wrote nothing.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use async_trait::async_trait;
use futures::stream::BoxStream;
use tokio::sync::watch;

use crate::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, ReplayEvent,
    StoreError, StreamId,
};

/// Wraps a store; after [`lose_next_reply`](Self::lose_next_reply), the next
/// append that commits returns a transient [`StoreError::Backend`] (a
/// connection reset) instead of its outcome. Everything else passes through.
#[derive(Clone)]
pub struct LostReplyStore<S> {
    inner: S,
    armed: Arc<AtomicBool>,
    lost: Arc<AtomicU64>,
}

impl<S: EventStore> LostReplyStore<S> {
    /// Wraps `inner`; no reply is lost until asked.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            armed: Arc::new(AtomicBool::new(false)),
            lost: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The next append that commits reports a connection reset.
    pub fn lose_next_reply(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// How many committed appends reported a failure so far.
    pub fn replies_lost(&self) -> u64 {
        self.lost.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: EventStore> EventStore for LostReplyStore<S> {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let outcome = self.inner.append(stream_id, expected, events).await?;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.lost.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::backend(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer (after the commit)",
            )));
        }
        Ok(outcome)
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        self.inner.read_stream(stream_id, from_version)
    }

    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        self.inner.replay_stream(stream_id, from_version)
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        self.inner.stream_version(stream_id).await
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.inner.append_notifications()
    }

    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        self.inner.count_after(after).await
    }
}
