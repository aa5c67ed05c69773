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
    version_reads: Arc<AtomicU64>,
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
        self.version_reads.fetch_add(1, Ordering::SeqCst);
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
                // Someone else appends first (a Counter event, schema v2).
                let mut theirs = NewEvent::raw("Incremented", serde_json::json!({"by": 5}));
                theirs.schema_version = 2;
                self.inner
                    .append(stream_id, ExpectedVersion::Any, vec![theirs])
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

#[tokio::test]
async fn a_refusal_or_no_op_from_the_cache_costs_one_version_read() {
    use es_core::testing::conformance::{Ticket, TicketCommand};
    let store = Counting::default();
    let repo = Repository::<Ticket, _>::new(store.clone());
    let id = Uuid::now_v7();
    repo.execute(id, TicketCommand::Open).await.expect("open");
    let (reads, versions) = (
        store.reads.load(Ordering::SeqCst),
        store.version_reads.load(Ordering::SeqCst),
    );
    let refused = repo.execute(id, TicketCommand::Complete).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(_))));
    let nothing = repo
        .execute(id, TicketCommand::Release)
        .await
        .expect("a no-op");
    assert!(nothing.events.is_empty());
    assert_eq!(
        store.version_reads.load(Ordering::SeqCst),
        versions + 2,
        "each answer from the cache was confirmed by one stream_version call"
    );
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        reads,
        "a confirmed cache needs no load"
    );
}

#[tokio::test]
async fn a_keyed_command_is_recognised_only_on_its_own_stream() {
    use es_core::{
        testing::conformance::{Ticket, TicketCommand},
        ExecuteOptions, IdempotencyKey,
    };
    let repo = Repository::<Ticket, _>::new(InMemoryStore::new());
    let key = IdempotencyKey::new("open-request").expect("key");
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let options = ExecuteOptions::new().idempotency_key(key.clone());
    let first = repo
        .execute_with_options(a, TicketCommand::Open, options.clone())
        .await
        .expect("a");
    let second = repo
        .execute_with_options(b, TicketCommand::Open, options)
        .await
        .expect("the same key on another aggregate is another command");
    assert_eq!((first.version, second.version), (1, 1));
    assert_ne!(first.outcome.first_position, second.outcome.first_position);
    let stream = Repository::<Ticket, InMemoryStore>::stream_id(a).expect("stream id");
    let stored: Vec<RecordedEvent> =
        futures::TryStreamExt::try_collect(repo.store().read_stream(&stream, 1))
            .await
            .expect("read");
    assert_eq!(stored[0].event_id, key.event_id(&stream, 0));
    assert_eq!(stored[0].event_id.get_version_num(), 5, "a UUID v5");
}

#[test]
fn idempotency_keys_are_validated() {
    use es_core::backend::limits::MAX_IDEMPOTENCY_KEY_BYTES;
    use es_core::{IdempotencyKey, InputField, InvalidInput};
    assert_eq!(
        IdempotencyKey::new(""),
        Err(InvalidInput::Empty {
            field: InputField::IdempotencyKey
        })
    );
    let long = "k".repeat(MAX_IDEMPOTENCY_KEY_BYTES + 1);
    assert_eq!(
        IdempotencyKey::new(long),
        Err(InvalidInput::TooLong {
            field: InputField::IdempotencyKey,
            len: MAX_IDEMPOTENCY_KEY_BYTES + 1,
            max: MAX_IDEMPOTENCY_KEY_BYTES,
        })
    );
    assert_eq!(
        "a\0b".parse::<IdempotencyKey>(),
        Err(InvalidInput::Nul {
            field: InputField::IdempotencyKey
        })
    );
    let at_limit = "k".repeat(MAX_IDEMPOTENCY_KEY_BYTES);
    assert_eq!(
        IdempotencyKey::new(at_limit.clone())
            .expect("at the limit")
            .as_str(),
        at_limit
    );
    let id = Uuid::now_v7();
    assert_eq!(IdempotencyKey::from(id).to_string(), id.to_string());
    // Derived ids depend on the stream, the key and the index, and on nothing else.
    let key = IdempotencyKey::new("k").expect("key");
    let (s1, s2) = (
        StreamId::new("ticket-1").expect("id"),
        StreamId::new("ticket-2").expect("id"),
    );
    assert_eq!(
        key.event_id(&s1, 0),
        IdempotencyKey::new("k").expect("key").event_id(&s1, 0)
    );
    assert_ne!(key.event_id(&s1, 0), key.event_id(&s2, 0));
    assert_ne!(key.event_id(&s1, 0), key.event_id(&s1, 1));
    assert_ne!(
        key.event_id(&s1, 0),
        IdempotencyKey::new("k2").expect("key").event_id(&s1, 0)
    );
}

/// A store's conflict keeps what it knows when it becomes an `ExecuteError`:
/// an expectation of one version (`Exact`, `NoStream`) gives that version; one
/// that names none (`StreamExists`) stays the store's error, whole, instead of
/// claiming the command was decided at version 0.
#[test]
fn a_conflict_keeps_what_it_knows() {
    let stream_id = StreamId::new("counter-1").expect("id");
    let conflict = |expected| StoreError::Conflict {
        stream_id: stream_id.clone(),
        expected,
        actual: 3,
    };
    let exact: ExecuteError<std::io::Error> = conflict(ExpectedVersion::Exact(2)).into();
    assert!(matches!(
        exact,
        ExecuteError::Conflict {
            expected: 2,
            actual: 3,
            ..
        }
    ));
    let no_stream: ExecuteError<std::io::Error> = conflict(ExpectedVersion::NoStream).into();
    assert!(matches!(
        no_stream,
        ExecuteError::Conflict {
            expected: 0,
            actual: 3,
            ..
        }
    ));
    let exists: ExecuteError<std::io::Error> = conflict(ExpectedVersion::StreamExists).into();
    assert!(
        matches!(
            &exists,
            ExecuteError::Store(StoreError::Conflict {
                expected: ExpectedVersion::StreamExists,
                actual: 3,
                ..
            })
        ),
        "{exists:?}"
    );
    assert_eq!(ExpectedVersion::Any.single_version(), None);
}
