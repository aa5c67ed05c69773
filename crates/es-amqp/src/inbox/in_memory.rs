//! An [`IdempotencyStore`] in memory, for unit tests and prototypes.
//!
//! The consumer's state is any `T`; a transaction stages changes to it as
//! closures and applies them, together with the processed-event records,
//! under one lock at commit. Nothing is copied per transaction, so it stays
//! fast with large states.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
};

use es_core::{async_trait, BoxError, RecordedEvent, StreamId};
use uuid::Uuid;

use crate::{IdempotencyStore, Recorded};

type Change<T> = Box<dyn FnOnce(&mut T) + Send>;

struct Inner<T> {
    state: T,
    processed: HashSet<(String, Uuid)>,
    versions: HashMap<(String, StreamId), u64>,
}

/// Consumer state `T` plus processed-event records, in memory. Clones share.
pub struct InMemoryIdempotencyStore<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

impl<T> Clone for InMemoryIdempotencyStore<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Default> Default for InMemoryIdempotencyStore<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                state: T::default(),
                processed: HashSet::new(),
                versions: HashMap::new(),
            })),
        }
    }
}

/// A transaction of an [`InMemoryIdempotencyStore`]: staged changes.
pub struct InMemoryTransaction<T> {
    changes: Vec<Change<T>>,
    records: Vec<(String, Uuid, StreamId, u64)>,
}

impl<T> InMemoryTransaction<T> {
    /// Stages a change of the state, applied at commit.
    pub fn update(&mut self, change: impl FnOnce(&mut T) + Send + 'static) {
        self.changes.push(Box::new(change));
    }
}

impl<T> InMemoryIdempotencyStore<T> {
    /// An empty store starting from `T::default()`.
    pub fn new() -> Self
    where
        T: Default,
    {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the committed state.
    pub fn state(&self) -> T
    where
        T: Clone,
    {
        self.lock().state.clone()
    }

    /// Reads the committed state.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock().state)
    }

    /// How many events `consumer` has recorded.
    pub fn processed_count(&self, consumer: &str) -> usize {
        self.lock()
            .processed
            .iter()
            .filter(|(c, _)| c == consumer)
            .count()
    }

    /// The highest applied version of `stream_id` for `consumer`.
    pub fn last_version(&self, consumer: &str, stream_id: &StreamId) -> Option<u64> {
        self.lock()
            .versions
            .get(&(consumer.to_owned(), stream_id.clone()))
            .copied()
    }
}

/// Two transactions recorded the same event concurrently; the later commit
/// fails and changes nothing (a retry then finds the event recorded).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("event {0} was recorded by a concurrent transaction")]
pub struct ConcurrentRecord(pub Uuid);

#[async_trait]
impl<T: Send + 'static> IdempotencyStore for InMemoryIdempotencyStore<T> {
    type Transaction = InMemoryTransaction<T>;

    async fn begin(&self) -> Result<Self::Transaction, BoxError> {
        Ok(InMemoryTransaction {
            changes: Vec::new(),
            records: Vec::new(),
        })
    }

    async fn record(
        &self,
        tx: &mut Self::Transaction,
        consumer: &str,
        event: &RecordedEvent,
    ) -> Result<Recorded, BoxError> {
        es_core::backend::check_consumer_name(consumer)?;
        let staged = tx
            .records
            .iter()
            .any(|(c, id, _, _)| c == consumer && *id == event.event_id);
        let inner = self.lock();
        if staged
            || inner
                .processed
                .contains(&(consumer.to_owned(), event.event_id))
        {
            return Ok(Recorded::Duplicate);
        }
        let previous_version = inner
            .versions
            .get(&(consumer.to_owned(), event.stream_id.clone()))
            .copied();
        drop(inner);
        tx.records.push((
            consumer.to_owned(),
            event.event_id,
            event.stream_id.clone(),
            event.version,
        ));
        Ok(Recorded::New { previous_version })
    }

    async fn commit(&self, tx: Self::Transaction) -> Result<(), BoxError> {
        let mut inner = self.lock();
        if let Some((_, id, _, _)) = tx
            .records
            .iter()
            .find(|(c, id, _, _)| inner.processed.contains(&(c.clone(), *id)))
        {
            return Err(Box::new(ConcurrentRecord(*id)));
        }
        for change in tx.changes {
            change(&mut inner.state);
        }
        for (consumer, id, stream, version) in tx.records {
            inner.processed.insert((consumer.clone(), id));
            let last = inner.versions.entry((consumer, stream)).or_insert(version);
            *last = (*last).max(version);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Handler, IdempotentHandler, TransactionalHandler};

    use crate::test_events::event;

    struct Push {
        fail: bool,
    }

    #[async_trait]
    impl TransactionalHandler<InMemoryTransaction<Vec<(u64, Option<u64>)>>> for Push {
        async fn apply(
            &self,
            tx: &mut InMemoryTransaction<Vec<(u64, Option<u64>)>>,
            event: &RecordedEvent,
            previous_version: Option<u64>,
        ) -> Result<(), BoxError> {
            let version = event.version;
            tx.update(move |applied| applied.push((version, previous_version)));
            if self.fail {
                return Err("handler failed".into());
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_redelivered_event_is_not_applied_twice() {
        let store = InMemoryIdempotencyStore::<Vec<(u64, Option<u64>)>>::new();
        let handler = IdempotentHandler::new("c", store.clone(), Push { fail: false });
        let (first, second) = (event("s-1", 1), event("s-1", 2));
        for e in [&first, &first, &second, &first, &second] {
            handler.handle(e).await.expect("handled");
        }
        assert_eq!(store.state(), vec![(1, None), (2, Some(1))]);
        assert_eq!(store.processed_count("c"), 2);
        assert_eq!(store.last_version("c", &first.stream_id), Some(2));
        // Another consumer name has its own records.
        let other = IdempotentHandler::new("d", store.clone(), Push { fail: false });
        other.handle(&first).await.expect("handled");
        assert_eq!(store.processed_count("d"), 1);
    }

    #[tokio::test]
    async fn a_failed_handler_records_nothing_so_a_retry_applies() {
        let store = InMemoryIdempotencyStore::<Vec<(u64, Option<u64>)>>::new();
        let e = event("s-1", 1);
        let failing = IdempotentHandler::new("c", store.clone(), Push { fail: true });
        assert!(failing.handle(&e).await.is_err());
        assert_eq!(store.processed_count("c"), 0);
        assert!(store.state().is_empty());
        let working = IdempotentHandler::new("c", store.clone(), Push { fail: false });
        working.handle(&e).await.expect("handled");
        assert_eq!(store.state(), vec![(1, None)]);
    }

    /// Applies each stream's events in version order, or says it cannot yet.
    struct InOrder;

    #[async_trait]
    impl TransactionalHandler<InMemoryTransaction<Vec<u64>>> for InOrder {
        async fn apply(
            &self,
            tx: &mut InMemoryTransaction<Vec<u64>>,
            event: &RecordedEvent,
            previous_version: Option<u64>,
        ) -> Result<(), BoxError> {
            let version = event.version;
            // Staged before the check: a refused event must leave no trace.
            tx.update(move |applied| applied.push(version));
            crate::NotYet::check_next(event, previous_version)?;
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_applied_yet_is_not_recorded() {
        let store = InMemoryIdempotencyStore::<Vec<u64>>::new();
        let handler = IdempotentHandler::new("c", store.clone(), InOrder);
        let (v1, v2, v3) = (event("s-1", 1), event("s-1", 2), event("s-1", 3));
        for early in [&v3, &v2] {
            let error = handler.handle(early).await.expect_err("not yet");
            let not_yet = crate::NotYet::find(&*error).expect("a NotYet");
            assert_eq!((not_yet.version, not_yet.waiting_for), (early.version, 1));
        }
        assert_eq!(store.processed_count("c"), 0);
        assert_eq!(store.last_version("c", &v1.stream_id), None);
        assert!(store.state().is_empty());
        for e in [&v1, &v3, &v2, &v1, &v3] {
            let _ = handler.handle(e).await;
        }
        assert_eq!(store.state(), vec![1, 2, 3]);
        assert_eq!(store.processed_count("c"), 3);
        assert_eq!(store.last_version("c", &v1.stream_id), Some(3));
    }

    #[tokio::test]
    async fn concurrent_transactions_recording_one_event_commit_once() {
        let store = InMemoryIdempotencyStore::<u32>::new();
        let e = event("s-1", 1);
        let mut a = store.begin().await.expect("begin");
        let mut b = store.begin().await.expect("begin");
        for tx in [&mut a, &mut b] {
            assert_eq!(
                store.record(tx, "c", &e).await.expect("record"),
                Recorded::New {
                    previous_version: None
                }
            );
            tx.update(|n| *n += 1);
        }
        store.commit(a).await.expect("first commit");
        let error = store.commit(b).await.expect_err("second commit conflicts");
        assert!(error.is::<ConcurrentRecord>());
        assert_eq!(store.state(), 1);
        let mut c = store.begin().await.expect("begin");
        assert_eq!(
            store.record(&mut c, "c", &e).await.expect("record"),
            Recorded::Duplicate
        );
    }
}
