//! Following a query: the events of one boundary as they are appended.
//!
//! A projection or a process manager that cares about one query (a
//! course's subscriptions, a slot's bookings) need not filter the whole log
//! itself: [`QuerySubscription`] pages through
//! [`read_query`](super::DcbStore::read_query), which reads only the
//! gap-safe part of the global log, so it never skips an event that commits
//! late, and waits on the store's append notifications in between.

use std::time::Duration;

use tokio::sync::watch;

use crate::{Position, StoreError};

use super::{DcbStore, Query, SequencedEvent};

/// How long a subscription waits for a notification before it reads again
/// anyway (stores that cannot see other processes' appends only notify
/// their own).
const SAFETY_NET_POLL: Duration = Duration::from_millis(500);

/// Catch-up-then-live delivery of the events matching one query.
///
/// ```
/// use es_core::dcb::{DcbStore, Query, QueryItem, QuerySubscription, Tag, TaggedEvent};
/// use es_core::{InMemoryStore, NewEvent};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = InMemoryStore::new();
/// let c1 = Tag::new("course:c1").unwrap();
/// let query = Query::from_items([QueryItem::tags([c1.clone()])]);
/// let mut subscription = QuerySubscription::new(store.clone(), query, None);
/// store.append_events(vec![TaggedEvent::new(NewEvent::raw("CourseDefined", serde_json::json!({})), [c1])], None).await?;
/// let batch = subscription.next_batch().await?;
/// assert_eq!(batch[0].event.event_type, "CourseDefined");
/// # Ok::<(), es_core::StoreError>(())
/// # }).unwrap();
/// ```
pub struct QuerySubscription<S> {
    store: S,
    query: Query,
    after: Option<Position>,
    batch_size: usize,
    notifications: watch::Receiver<()>,
}

impl<S: DcbStore> QuerySubscription<S> {
    /// Follows `query` on `store` from after `after` (the start when `None`).
    pub fn new(store: S, query: Query, after: Option<Position>) -> Self {
        let notifications = store.append_notifications();
        Self {
            store,
            query,
            after,
            batch_size: 500,
            notifications,
        }
    }

    /// How far this subscription has read: resume from it.
    pub fn position(&self) -> Option<Position> {
        self.after
    }

    /// The next matching events, waiting until there are some. Each wait
    /// lasts at most a notification or half a second, then reads again.
    pub async fn next_batch(&mut self) -> Result<Vec<SequencedEvent>, StoreError> {
        loop {
            self.notifications.borrow_and_update();
            let read = self
                .store
                .read_query(&self.query, self.after, Some(self.batch_size))
                .await?;
            if read.head > self.after {
                self.after = read.head;
            }
            if !read.events.is_empty() {
                return Ok(read.events);
            }
            // A closed channel (the store is gone) leaves the poll.
            let _ = tokio::time::timeout(SAFETY_NET_POLL, self.notifications.changed()).await;
        }
    }
}
