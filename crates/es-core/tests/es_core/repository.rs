//! Repository behaviour beyond the store contract: warm cache, stale cache,
//! retry policy, snapshots, and the given/when/then kit.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use es_core::{
    async_trait,
    testing::{
        conformance::{Counter, CounterCommand, CounterEvent},
        AggregateTest,
    },
    AppendOutcome, EventStore, ExecuteError, ExpectedVersion, InMemoryStore, NewEvent, Position,
    RecordedEvent, Repository, RetryPolicy, SnapshotPolicy, StoreError, StreamId,
};
use futures::stream::BoxStream;
use tokio::sync::watch;
use uuid::Uuid;

/// An in-memory store that counts calls, to see how many round trips a
/// command costs and from which version loads start.
#[derive(Clone, Default)]
struct Counting {
    inner: InMemoryStore,
    reads: Arc<AtomicU64>,
    appends: Arc<AtomicU64>,
    last_read_from: Arc<AtomicU64>,
}

#[async_trait]
impl EventStore for Counting {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        self.inner.append(stream_id, expected, events).await
    }
    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.last_read_from.store(from_version, Ordering::SeqCst);
        self.inner.read_stream(stream_id, from_version)
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
}

#[tokio::test]
async fn a_warm_command_is_one_round_trip() {
    let store = Counting::default();
    let repo = Repository::<Counter, _>::new(store.clone());
    let id = Uuid::now_v7();
    repo.execute(id, CounterCommand::Increment(1))
        .await
        .expect("first");
    let (reads, appends) = (
        store.reads.load(Ordering::SeqCst),
        store.appends.load(Ordering::SeqCst),
    );
    let executed = repo
        .execute(id, CounterCommand::Increment(2))
        .await
        .expect("second");
    assert_eq!(executed.state, 3);
    assert_eq!(executed.version, 2);
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        reads,
        "a warm command must not read"
    );
    assert_eq!(store.appends.load(Ordering::SeqCst), appends + 1);
}

#[tokio::test]
async fn creating_an_aggregate_is_one_round_trip_and_a_wrong_guess_is_harmless() {
    let store = Counting::default();
    let repo = Repository::<Counter, _>::new(store.clone()).with_cache_capacity(0);
    let id = Uuid::now_v7();
    let created = repo
        .execute(id, CounterCommand::Increment(1))
        .await
        .expect("create");
    assert_eq!((created.state, created.version), (1, 1));
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        0,
        "a new aggregate needs no read"
    );
    assert_eq!(store.appends.load(Ordering::SeqCst), 1);
    // Not cached and not new: the guess's NoStream append is refused, then
    // the repository loads and decides on the real state.
    let executed = repo
        .execute(id, CounterCommand::Increment(2))
        .await
        .expect("second");
    assert_eq!((executed.state, executed.version), (3, 2));
    // A command the new state refuses loads straight away (no wasted append).
    let appends = store.appends.load(Ordering::SeqCst);
    let refused = repo.execute(id, CounterCommand::Increment(-1)).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(_))));
    assert_eq!(store.appends.load(Ordering::SeqCst), appends);
}

#[tokio::test]
async fn a_stale_cache_is_not_the_callers_conflict() {
    let store = InMemoryStore::new();
    let a = Repository::<Counter, _>::new(store.clone());
    let b = Repository::<Counter, _>::new(store.clone());
    let id = Uuid::now_v7();
    a.execute(id, CounterCommand::Increment(1))
        .await
        .expect("a warms up");
    b.execute(id, CounterCommand::Increment(10))
        .await
        .expect("b appends behind a's back");
    let executed = a
        .execute(id, CounterCommand::Increment(100))
        .await
        .expect("a reloads and decides again");
    assert_eq!((executed.state, executed.version), (111, 3));
}

#[tokio::test]
async fn without_a_cache_a_conflict_is_returned_and_retry_resolves_it() {
    // A store whose first append always reports a conflict, as if another
    // writer had won.
    #[derive(Clone, Default)]
    struct LoseOnce {
        inner: Counting,
        lost: Arc<AtomicU64>,
    }
    #[async_trait]
    impl EventStore for LoseOnce {
        async fn append(
            &self,
            stream_id: &StreamId,
            expected: ExpectedVersion,
            events: Vec<NewEvent>,
        ) -> Result<AppendOutcome, StoreError> {
            if self.lost.fetch_add(1, Ordering::SeqCst) == 0 {
                // Someone else appends first.
                self.inner
                    .append(
                        stream_id,
                        ExpectedVersion::Any,
                        vec![NewEvent::raw("Incremented", serde_json::json!({"by": 5}))],
                    )
                    .await?;
            }
            self.inner.append(stream_id, expected, events).await
        }
        fn read_stream<'a>(
            &'a self,
            s: &'a StreamId,
            v: u64,
        ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
            self.inner.read_stream(s, v)
        }
        async fn read_all(
            &self,
            after: Position,
            limit: usize,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            self.inner.read_all(after, limit).await
        }
        async fn stream_version(&self, s: &StreamId) -> Result<u64, StoreError> {
            self.inner.stream_version(s).await
        }
        fn append_notifications(&self) -> watch::Receiver<()> {
            self.inner.append_notifications()
        }
    }
    let id = Uuid::now_v7();
    let plain = Repository::<Counter, _>::new(LoseOnce::default())
        .with_cache_capacity(0)
        .with_assume_new_on_miss(false);
    match plain.execute(id, CounterCommand::Increment(1)).await {
        Err(ExecuteError::Conflict {
            expected: 0,
            actual: 1,
            ..
        }) => {}
        other => panic!("expected a conflict, got {:?}", other.map(|e| e.version)),
    }
    let retrying = Repository::<Counter, _>::new(LoseOnce::default())
        .with_cache_capacity(0)
        .with_assume_new_on_miss(false)
        .with_retry(RetryPolicy::attempts(3));
    let executed = retrying
        .execute(id, CounterCommand::Increment(1))
        .await
        .expect("retried");
    assert_eq!((executed.state, executed.version), (6, 2));
}

#[tokio::test]
async fn snapshots_make_loads_read_only_the_tail() {
    let store = Counting::default();
    let repo = Repository::<Counter, _>::new(store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.inner.clone(), SnapshotPolicy::EveryN(10));
    let id = Uuid::now_v7();
    for _ in 0..25 {
        repo.execute(id, CounterCommand::Increment(1))
            .await
            .expect("command");
    }
    let loaded = repo.load(id).await.expect("load");
    assert_eq!((loaded.state, loaded.version), (25, 25));
    assert_eq!(
        store.last_read_from.load(Ordering::SeqCst),
        21,
        "the load starts after the snapshot at 20"
    );
}

#[test]
fn the_given_when_then_kit_checks_decisions() {
    AggregateTest::<Counter>::given(vec![CounterEvent::Incremented { by: 1 }])
        .when(CounterCommand::Increment(2))
        .then_expect_events(vec![CounterEvent::Incremented { by: 2 }]);
    AggregateTest::<Counter>::given_no_previous_events()
        .when(CounterCommand::Increment(-1))
        .then_expect_error_message("the counter refuses negative increments");
}

#[test]
#[should_panic(expected = "the command produced other events")]
fn the_kit_fails_on_other_events() {
    AggregateTest::<Counter>::given_no_previous_events()
        .when(CounterCommand::Increment(2))
        .then_expect_events(vec![CounterEvent::Incremented { by: 3 }]);
}
