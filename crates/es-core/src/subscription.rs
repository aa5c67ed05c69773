//! Catch-up-then-live subscriptions to the global log.
//!
//! A subscription is nothing more than repeated [`EventStore::read_all`] pages
//! from its own position, woken by the store's append notifications (with a
//! slow poll as a safety net). History and live events come through the same
//! gap-safe read, so there is no hand-over between two mechanisms where an
//! event could be lost or delivered twice.
//!
//! A stored event that cannot be decoded stops the subscription with the
//! error, or is skipped, as its [`UndecodablePolicy`] says.

use std::{collections::VecDeque, time::Duration};

use futures::stream::{self, Stream};
use tokio::sync::watch;

use crate::{EventStore, Position, RecordedEvent, StoreError, UndecodablePolicy};

/// The default number of events read per page.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// The default safety-net poll interval when no notification arrives.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A subscriber to the global log, from a checkpoint on.
///
/// ```
/// # tokio_test_block_on(async {
/// use es_core::{EventStore, ExpectedVersion, InMemoryStore, NewEvent, Position, StreamId, Subscription};
///
/// let store = InMemoryStore::new();
/// let stream = StreamId::new("s-1").unwrap();
/// store.append(&stream, ExpectedVersion::Any, vec![NewEvent::raw("Happened", serde_json::Value::Null)]).await.unwrap();
///
/// let mut subscription = Subscription::new(store.clone(), Position::START);
/// let first = subscription.next().await.unwrap();
/// assert_eq!(first.version, 1);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Subscription<S> {
    store: S,
    position: Position,
    buffer: VecDeque<RecordedEvent>,
    page_size: usize,
    poll_interval: Duration,
    undecodable: UndecodablePolicy,
    wake: watch::Receiver<()>,
}

impl<S: EventStore> Subscription<S> {
    /// A subscription that yields every event after `after`.
    pub fn new(store: S, after: Position) -> Self {
        let wake = store.append_notifications();
        Self {
            store,
            position: after,
            buffer: VecDeque::new(),
            page_size: DEFAULT_PAGE_SIZE,
            poll_interval: DEFAULT_POLL_INTERVAL,
            undecodable: UndecodablePolicy::default(),
            wake,
        }
    }

    /// Sets the page size (at least 1).
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets the safety-net poll interval.
    #[must_use]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// What to do with a stored event that cannot be decoded (default:
    /// [`UndecodablePolicy::Stop`]).
    #[must_use]
    pub fn with_undecodable_policy(mut self, policy: UndecodablePolicy) -> Self {
        self.undecodable = policy;
        self
    }

    /// The position of the last event handed out (or the starting point).
    pub fn position(&self) -> Position {
        self.position
    }

    /// The next event, waiting for one to be committed if needed.
    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.position = event.position;
                return Ok(event);
            }
            self.fill().await?;
            if self.buffer.is_empty() {
                self.wait().await;
            }
        }
    }

    /// Up to one page of the next events; empty when caught up (does not wait).
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        if self.buffer.is_empty() {
            self.fill().await?;
        }
        let batch: Vec<_> = self.buffer.drain(..).collect();
        if let Some(last) = batch.last() {
            self.position = last.position;
        }
        Ok(batch)
    }

    /// Waits until the store signals an append or the poll interval passes.
    pub async fn wait(&mut self) {
        tokio::select! {
            changed = self.wake.changed() => {
                if changed.is_err() {
                    // The store is gone or cannot notify: fall back to polling.
                    tokio::time::sleep(self.poll_interval).await;
                }
            }
            _ = tokio::time::sleep(self.poll_interval) => {}
        }
    }

    async fn fill(&mut self) -> Result<(), StoreError> {
        // Mark the signal seen *before* reading, so an append that commits
        // after this read wakes the next wait.
        self.wake.borrow_and_update();
        loop {
            let error = match self.store.read_all(self.position, self.page_size).await {
                Ok(page) => {
                    self.buffer.extend(page);
                    return Ok(());
                }
                Err(error) => error,
            };
            let Some(bad) = self.undecodable_position(&error) else {
                return Err(error);
            };
            // Hand out the events before the bad one first, under either policy.
            let before = self.read_before(bad).await?;
            if !before.is_empty() {
                self.buffer.extend(before);
                return Ok(());
            }
            if self.undecodable == UndecodablePolicy::Stop {
                return Err(error);
            }
            if let StoreError::Decode(decode) = &error {
                tracing::error!(
                    stream_id = %decode.stream_id,
                    version = decode.version,
                    event_type = %decode.event_type,
                    position = %bad,
                    %error,
                    "skipping a stored event that cannot be decoded"
                );
            }
            self.position = bad;
        }
    }

    /// Where the undecodable event that `error` is about lies, if it is one
    /// ahead of this subscription.
    fn undecodable_position(&self, error: &StoreError) -> Option<Position> {
        match error {
            StoreError::Decode(decode) => decode.position.filter(|p| *p > self.position),
            _ => None,
        }
    }

    /// The events between this subscription's position and `bad`, read one
    /// at a time (a page containing `bad` fails as a whole).
    async fn read_before(&self, bad: Position) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut before = Vec::new();
        let mut after = self.position;
        while before.len() < self.page_size {
            match self.store.read_all(after, 1).await {
                Ok(page) => match page.into_iter().next() {
                    Some(event) if event.position < bad => {
                        after = event.position;
                        before.push(event);
                    }
                    _ => break,
                },
                Err(StoreError::Decode(decode)) if decode.position == Some(bad) => break,
                Err(error) => return Err(error),
            }
        }
        Ok(before)
    }

    /// This subscription as a never-ending [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<RecordedEvent, StoreError>>
    where
        S: 'static,
    {
        stream::unfold(self, |mut subscription| async move {
            let item = subscription.next().await;
            Some((item, subscription))
        })
    }
}
