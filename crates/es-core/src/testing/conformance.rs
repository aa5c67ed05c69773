//! The conformance suite: one test per guarantee of the event store contract.
//!
//! Each function takes a fresh, empty store and panics (it is test code) when
//! the store breaks the guarantee it is named after. Backends do not call them
//! one by one; they use [`conformance_tests!`](crate::conformance_tests):
//!
//! ```ignore
//! es_core::conformance_tests!(
//!     store: async { my_backend::Store::connect_fresh().await.unwrap() },
//!     projection: |store: my_backend::Store| async move { (store.checkpoints(), MyCounter) },
//! );
//! ```
//!
//! The test names say which guarantee failed: `g1_optimistic_concurrency`,
//! `g2_idempotent_append`, `g3_atomic_batch`, `g4_per_stream_order`,
//! `g5_global_log_never_skips`, `g6_catch_up_then_live`,
//! `g7_projection_exactly_once`, `g8_bad_stored_data_is_a_clear_error`,
//! `g9_values_round_trip_verbatim`.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::{
    Aggregate, BoxError, CheckpointStore, DecodeFailure, DomainEvent, EventStore, ExecuteError,
    ExpectedVersion, NewEvent, Position, Projection, ProjectionRunner, RecordedEvent, ReplayEvent,
    Repository, StoreError, StreamId, Subscription, Upcasters,
};

const WAIT: Duration = Duration::from_secs(30);

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", Uuid::now_v7())).expect("valid stream id")
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Incremented", json!({ "by": i })))
        .collect()
}

async fn read_stream<S: EventStore>(store: &S, stream_id: &StreamId) -> Vec<RecordedEvent> {
    store
        .read_stream(stream_id, 1)
        .try_collect()
        .await
        .expect("read_stream failed")
}

async fn read_whole_log<S: EventStore>(store: &S, page: usize) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut after = Position::START;
    loop {
        let batch = store.read_all(after, page).await.expect("read_all failed");
        assert!(batch.len() <= page, "read_all returned more than the limit");
        match batch.last() {
            None => return all,
            Some(last) => after = last.position,
        }
        all.extend(batch);
    }
}

fn assert_versions(events: &[RecordedEvent], expected: std::ops::RangeInclusive<u64>) {
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    let expected: Vec<u64> = expected.collect();
    assert_eq!(
        versions, expected,
        "stream versions are not 1, 2, 3, … without holes"
    );
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, actual_version: u64) {
    match result {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, actual_version),
        other => panic!("expected a conflict at version {actual_version}, got {other:?}"),
    }
}

/// G1: appends check the expected version; of 32 concurrent appends at the
/// same version exactly one wins and 31 get a typed conflict; nothing is
/// half-written. The same race through the [`Repository`] gives 31
/// [`ExecuteError::Conflict`].
pub async fn optimistic_concurrency<S: EventStore + Clone + 'static>(store: S) {
    let s = stream("g1");
    assert_conflict(
        store
            .append(&s, ExpectedVersion::StreamExists, events(1))
            .await,
        0,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(3), events(1)).await,
        0,
    );
    let first = store
        .append(&s, ExpectedVersion::NoStream, events(2))
        .await
        .expect("first append");
    assert_eq!(first.version, 2);
    assert_conflict(
        store.append(&s, ExpectedVersion::NoStream, events(1)).await,
        2,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(1), events(1)).await,
        2,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(0), events(1)).await,
        2,
    );
    store
        .append(&s, ExpectedVersion::Exact(2), events(1))
        .await
        .expect("append at the right version");
    store
        .append(&s, ExpectedVersion::StreamExists, events(1))
        .await
        .expect("append to an existing stream");
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .expect("append at any version");
    assert_eq!(store.stream_version(&s).await.expect("stream_version"), 5);

    // 32 concurrent appends at version 5.
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (store, s, barrier) = (store.clone(), s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.append(&s, ExpectedVersion::Exact(5), events(2)).await
        }));
    }
    let (mut won, mut conflicts) = (0, 0);
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(outcome) => {
                assert_eq!(outcome.version, 7);
                won += 1;
            }
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("unexpected error in the race: {other}"),
        }
    }
    assert_eq!(
        (won, conflicts),
        (1, 31),
        "exactly one append may win the race"
    );
    assert_versions(&read_stream(&store, &s).await, 1..=7);

    // The same race through the repository: 32 commands decided at version 1.
    let repo = Arc::new(Repository::<Counter, S>::new(store.clone()));
    let id = Uuid::now_v7();
    repo.execute(id, CounterCommand::Increment(1))
        .await
        .expect("first command");
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (repo, barrier) = (repo.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            repo.execute_at(id, 1, CounterCommand::Increment(1), Default::default())
                .await
        }));
    }
    let (mut won, mut conflicts) = (0, 0);
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(_) => won += 1,
            Err(ExecuteError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("unexpected error in the repository race: {other}"),
        }
    }
    assert_eq!(
        (won, conflicts),
        (1, 31),
        "exactly one command may win the race"
    );
    let history = read_stream(
        &store,
        &Repository::<Counter, S>::stream_id(id).expect("valid stream id"),
    )
    .await;
    assert_versions(&history, 1..=2);
}

/// G2: re-sending a batch with the same event ids succeeds without writing twice.
pub async fn idempotent_append<S: EventStore>(store: S) {
    let s = stream("g2");
    let batch = events(3);
    let first = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("first append");
    let again = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("re-sent append must succeed");
    assert_eq!(
        first, again,
        "a re-sent append reports the original outcome"
    );
    let again_any = store
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .expect("re-sent append with Any must succeed");
    assert_eq!(first, again_any);
    let stored = read_stream(&store, &s).await;
    assert_versions(&stored, 1..=3);
    let ids: Vec<Uuid> = stored.iter().map(|e| e.event_id).collect();
    let sent: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, sent);
    assert_eq!(
        read_whole_log(&store, 100).await.len(),
        3,
        "nothing written twice"
    );

    // The same ids appended to another stream are refused, not duplicated.
    let other = stream("g2-other");
    match store.append(&other, ExpectedVersion::Any, batch).await {
        Err(StoreError::DuplicateEventId { .. }) => {}
        other => panic!("expected DuplicateEventId, got {other:?}"),
    }
    assert_eq!(store.stream_version(&other).await.expect("version"), 0);
}

/// G3: a batch in which one event cannot be written writes none.
pub async fn atomic_batch<S: EventStore>(store: S) {
    let s1 = stream("g3-a");
    let taken = events(1);
    store
        .append(&s1, ExpectedVersion::NoStream, taken.clone())
        .await
        .expect("setup append");
    let s2 = stream("g3-b");
    let mut batch = events(4);
    batch[2].event_id = taken[0].event_id; // already recorded in s1
    let result = store.append(&s2, ExpectedVersion::Any, batch).await;
    assert!(
        matches!(result, Err(StoreError::DuplicateEventId { .. })),
        "expected DuplicateEventId, got {result:?}"
    );
    assert_eq!(store.stream_version(&s2).await.expect("version"), 0);
    assert!(
        read_stream(&store, &s2).await.is_empty(),
        "a failed batch wrote events"
    );

    // A batch repeating an id within itself is refused whole.
    let mut batch = events(3);
    batch[2].event_id = batch[0].event_id;
    assert!(store
        .append(&s2, ExpectedVersion::Any, batch)
        .await
        .is_err());
    assert!(
        read_stream(&store, &s2).await.is_empty(),
        "a failed batch wrote events"
    );
    assert_eq!(read_whole_log(&store, 100).await.len(), 1);

    // A conflicting batch writes nothing either.
    assert_conflict(
        store
            .append(&s1, ExpectedVersion::NoStream, events(5))
            .await,
        1,
    );
    assert_eq!(read_stream(&store, &s1).await.len(), 1);
}

/// G4: each stream reads back in version order 1, 2, 3, … without holes, and
/// reading from a version starts there.
pub async fn per_stream_order<S: EventStore>(store: S) {
    let streams: Vec<StreamId> = (0..3).map(|i| stream(&format!("g4-{i}"))).collect();
    for round in 0..5 {
        for s in &streams {
            store
                .append(s, ExpectedVersion::Exact(round * 2), events(2))
                .await
                .expect("append");
        }
    }
    for s in &streams {
        let all = read_stream(&store, s).await;
        assert_versions(&all, 1..=10);
        assert!(all.iter().all(|e| &e.stream_id == s));
        let tail: Vec<RecordedEvent> = store
            .read_stream(s, 7)
            .try_collect()
            .await
            .expect("read from version");
        assert_versions(&tail, 7..=10);
        assert_eq!(store.stream_version(s).await.expect("version"), 10);
        // Replay yields the same events, reduced to what replay needs.
        let replayed: Vec<ReplayEvent> = store
            .replay_stream(s, 7)
            .try_collect()
            .await
            .expect("replay from version");
        let expected: Vec<ReplayEvent> = tail.into_iter().map(ReplayEvent::from).collect();
        assert_eq!(replayed, expected);
    }
    assert!(store
        .replay_stream(&stream("g4-none"), 1)
        .try_collect::<Vec<_>>()
        .await
        .expect("replay an unknown stream")
        .is_empty());
    assert!(read_stream(&store, &stream("g4-none")).await.is_empty());
    let log = read_whole_log(&store, 7).await;
    assert_eq!(log.len(), 30);
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
}

/// G5: a subscriber following the global log while 8 writers append
/// concurrently receives every committed event exactly once, in position
/// order and with each stream in version order.
pub async fn global_log_never_skips<S: EventStore + Clone + 'static>(store: S) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 40;
    const PER_APPEND: usize = 2;
    let total = WRITERS * APPENDS * PER_APPEND;

    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_page_size(17)
        .with_poll_interval(Duration::from_millis(50));
    let reader = tokio::spawn(async move {
        let mut received = Vec::with_capacity(total);
        while received.len() < total {
            let event = tokio::time::timeout(WAIT, subscription.next())
                .await
                .expect("the subscriber stopped receiving events")
                .expect("subscription error");
            received.push(event);
        }
        received
    });
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let s = stream(&format!("g5-{w}"));
            for i in 0..APPENDS {
                store
                    .append(
                        &s,
                        ExpectedVersion::Exact((i * PER_APPEND) as u64),
                        events(PER_APPEND),
                    )
                    .await
                    .expect("append");
                if i % 3 == w % 3 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer panicked");
    }
    let received = reader.await.expect("reader panicked");
    check_exactly_once_in_order(&received, total);
    let log = read_whole_log(&store, 33).await;
    assert_eq!(
        log.len(),
        total,
        "paging the log must return every event once"
    );
}

fn check_exactly_once_in_order(received: &[RecordedEvent], total: usize) {
    assert_eq!(received.len(), total);
    let ids: HashSet<Uuid> = received.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total, "an event was delivered twice");
    assert!(
        received.windows(2).all(|w| w[0].position < w[1].position),
        "events were not delivered in global order"
    );
    let mut last: HashMap<&StreamId, u64> = HashMap::new();
    for e in received {
        let previous = last.insert(&e.stream_id, e.version).unwrap_or(0);
        assert_eq!(
            e.version,
            previous + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}

/// G6: a subscription catches up on history while appends continue, then
/// keeps receiving new events live, with no gap and no duplicate.
pub async fn catch_up_then_live<S: EventStore + Clone + 'static>(store: S) {
    let s = stream("g6");
    for i in 0..50 {
        store
            .append(&s, ExpectedVersion::Exact(i * 2), events(2))
            .await
            .expect("history append");
    }
    let writer = {
        let store = store.clone();
        let s = s.clone();
        tokio::spawn(async move {
            for i in 50..100 {
                store
                    .append(&s, ExpectedVersion::Exact(i * 2), events(2))
                    .await
                    .expect("concurrent append");
                tokio::task::yield_now().await;
            }
        })
    };
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_page_size(25)
        .with_poll_interval(Duration::from_secs(30));
    let mut received = Vec::new();
    while received.len() < 200 {
        let event = tokio::time::timeout(WAIT, subscription.next())
            .await
            .expect("the subscriber stopped receiving events")
            .expect("subscription error");
        received.push(event);
    }
    writer.await.expect("writer panicked");
    // Live: a new append wakes the idle subscriber (poll interval is 30 s).
    let live = tokio::spawn(async move {
        let event = subscription.next().await.expect("subscription error");
        (event, subscription)
    });
    tokio::task::yield_now().await;
    store
        .append(&s, ExpectedVersion::Exact(200), events(1))
        .await
        .expect("live append");
    let (event, _) = tokio::time::timeout(Duration::from_secs(10), live)
        .await
        .expect("a live event did not arrive")
        .expect("subscriber panicked");
    received.push(event);
    check_exactly_once_in_order(&received, 201);
    assert_eq!(received[200].version, 201);
}

/// A projection that counts how often each event was applied, in its own store.
///
/// Backends implement it in their conformance test with a table keyed by
/// event id (the count is committed in the projection's transaction).
#[async_trait]
pub trait CountingProjection<Tx: Send>: Projection<Tx> {
    /// How many times each event id has been applied and committed.
    async fn applied(&self) -> HashMap<Uuid, u64>;
}

/// Wraps a projection and fails on its `fail_on`-th apply (1-based), once.
#[derive(Clone)]
struct FailOnce<P> {
    inner: P,
    calls: Arc<AtomicUsize>,
    fail_on: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

#[async_trait]
impl<Tx: Send, P: Projection<Tx>> Projection<Tx> for FailOnce<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.apply(tx, event).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_on {
            return Err(Box::new(Injected));
        }
        Ok(())
    }
}

/// G7: a projection runner that fails mid-batch and is restarted applies
/// every event exactly once (counted in the projection), and
/// [`ProjectionRunner::wait_for`] gives read-your-writes.
pub async fn projection_exactly_once<S, C, P>(store: S, checkpoints: C, projection: P)
where
    S: EventStore + Clone + 'static,
    C: CheckpointStore + Clone + 'static,
    P: CountingProjection<C::Transaction> + Clone + 'static,
{
    let mut appended = Vec::new();
    for i in 0..30 {
        let s = stream(&format!("g7-{}", i % 3));
        let batch = events(10);
        appended.extend(batch.iter().map(|e| e.event_id));
        store
            .append(&s, ExpectedVersion::Any, batch)
            .await
            .expect("append");
    }
    let failing = FailOnce {
        inner: projection.clone(),
        calls: Arc::new(AtomicUsize::new(0)),
        fail_on: 130, // in the middle of the third batch of 50
    };
    let runner =
        ProjectionRunner::new(store.clone(), checkpoints.clone(), failing).with_batch_size(50);
    let failed = runner.catch_up().await;
    assert!(failed.is_err(), "the injected failure must surface");
    let counts = projection.applied().await;
    assert_eq!(
        counts.len(),
        100,
        "exactly the two committed batches are applied"
    );
    assert!(counts.values().all(|&n| n == 1));

    // Restart: a fresh runner resumes from the committed checkpoint.
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), projection.clone())
        .with_batch_size(50);
    let reached = runner.catch_up().await.expect("catch-up after restart");
    let counts = projection.applied().await;
    assert_eq!(counts.len(), 300, "every event is applied");
    assert!(
        counts.values().all(|&n| n == 1),
        "an event was applied twice"
    );
    assert!(appended.iter().all(|id| counts.contains_key(id)));
    assert_eq!(
        checkpoints
            .load_checkpoint(projection.name())
            .await
            .expect("checkpoint"),
        reached
    );

    // Two runners of one projection at once (say a service and a CLI): the
    // checkpoint's compare-and-set keeps every event applied exactly once.
    for i in 0..20 {
        let s = stream(&format!("g7-race-{}", i % 4));
        store
            .append(&s, ExpectedVersion::Any, events(5))
            .await
            .expect("append");
    }
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let runner =
                ProjectionRunner::new(store.clone(), checkpoints.clone(), projection.clone())
                    .with_batch_size(7);
            tokio::spawn(async move { runner.catch_up().await })
        })
        .collect();
    for racer in racers {
        racer
            .await
            .expect("runner panicked")
            .expect("racing runner failed");
    }
    let counts = projection.applied().await;
    assert_eq!(counts.len(), 400, "every event is applied");
    assert!(
        counts.values().all(|&n| n == 1),
        "two runners applied an event twice"
    );

    // Live: run in the background; wait_for gives read-your-writes.
    let live = runner.clone();
    let task = tokio::spawn(async move { live.run().await });
    let s = stream("g7-live");
    let batch = events(3);
    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    let outcome = store
        .append(&s, ExpectedVersion::NoStream, batch)
        .await
        .expect("live append");
    let last = outcome
        .last_position
        .expect("non-empty append has a position");
    tokio::time::timeout(WAIT, runner.wait_for(last))
        .await
        .expect("the projection did not reach the appended position")
        .expect("runner stopped");
    let counts = projection.applied().await;
    assert!(ids.iter().all(|id| counts.get(id) == Some(&1)));
    task.abort();
}

/// G8: bad stored data is a clear error naming stream, version and event
/// type; upcasters turn an old schema version into the current one on read.
pub async fn bad_stored_data_is_a_clear_error<S: EventStore + Clone + 'static>(store: S) {
    // An old v1 payload, upcast to v2 on read.
    let id = Uuid::now_v7();
    let s = Repository::<Counter, S>::stream_id(id).expect("valid stream id");
    let mut old = NewEvent::raw("Incremented", json!({ "amount": 5 }));
    old.schema_version = 1;
    store
        .append(&s, ExpectedVersion::NoStream, vec![old])
        .await
        .expect("append v1");
    let upcasters = Upcasters::new().register("Incremented", 1, |v1: IncrementedV1| {
        IncrementedV2 { by: v1.amount }
    });
    let repo = Repository::<Counter, S>::new(store.clone()).with_upcasters(upcasters.clone());
    let loaded = repo.load(id).await.expect("load with upcaster");
    assert_eq!((loaded.state, loaded.version), (5, 1));
    let stored = read_stream(&store, &s).await;
    assert_eq!(
        stored[0]
            .decode_with::<CounterEvent>(&upcasters)
            .expect("decode"),
        CounterEvent::Incremented { by: 5 }
    );

    // Without the upcaster the same payload does not decode: a clear error.
    let plain = Repository::<Counter, S>::new(store.clone());
    match plain.load(id).await {
        Err(StoreError::Decode(error)) => {
            assert_eq!(error.stream_id, s);
            assert_eq!(error.version, 1);
            assert_eq!(error.event_type, "Incremented");
            let message = error.to_string();
            assert!(
                message.contains(s.as_str()) && message.contains("Incremented"),
                "{message}"
            );
            assert!(matches!(error.failure, DecodeFailure::Payload(_)));
        }
        other => panic!(
            "expected a decode error, got {:?}",
            other.map(|l| l.version)
        ),
    }

    // A payload that no longer decodes, and a type nobody knows.
    let id = Uuid::now_v7();
    let s = Repository::<Counter, S>::stream_id(id).expect("valid stream id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![
                current_schema(NewEvent::raw("Incremented", json!({ "by": 1 }))),
                current_schema(NewEvent::raw(
                    "Incremented",
                    json!({ "by": "not a number" }),
                )),
            ],
        )
        .await
        .expect("append");
    match repo.execute(id, CounterCommand::Increment(1)).await {
        Err(ExecuteError::Store(StoreError::Decode(error))) => {
            assert_eq!(
                (error.version, error.event_type.as_str()),
                (2, "Incremented")
            );
        }
        other => panic!(
            "expected a decode error, got {:?}",
            other.map(|e| e.version)
        ),
    }
    assert_eq!(
        store.stream_version(&s).await.expect("version"),
        2,
        "nothing appended"
    );
    let unknown = NewEvent::raw("Exploded", json!({}));
    let s = stream("g8-unknown");
    store
        .append(&s, ExpectedVersion::NoStream, vec![unknown])
        .await
        .expect("append");
    let stored = read_stream(&store, &s).await;
    let error = stored[0]
        .decode::<CounterEvent>()
        .expect_err("an unknown type must not decode");
    assert!(error.to_string().contains("Exploded"), "{error}");
}

/// G9: stream ids, event types, payloads and metadata round-trip verbatim,
/// however hostile (quotes, SQL, unicode, an event type of the longest
/// allowed length).
pub async fn values_round_trip_verbatim<S: EventStore>(store: S) {
    let long = "é".repeat(crate::limits::MAX_EVENT_TYPE_BYTES / 2);
    let nasty = [
        "it's \"quoted\"; DROP TABLE events; --".to_owned(),
        "ünïcödé-流-🦀".to_owned(),
        long,
        "back\\slash %_ $1 ?".to_owned(),
    ];
    for name in &nasty {
        let s =
            StreamId::new(format!("hostile-{name}-{}", Uuid::now_v7())).expect("valid stream id");
        let payload =
            json!({ "text": name, "nested": { "sql": "'; --", "n": 1.5, "list": [1, null] } });
        let metadata = crate::Metadata::default()
            .with_correlation_id(Uuid::now_v7())
            .with_causation_id(Uuid::now_v7())
            .with_extra(&json!({ "who": name }))
            .expect("extra");
        let event = NewEvent::raw(name.clone(), payload.clone()).with_metadata(metadata.clone());
        let id = event.event_id;
        store
            .append(&s, ExpectedVersion::NoStream, vec![event])
            .await
            .expect("append hostile values");
        let stored = read_stream(&store, &s).await;
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(e.stream_id, s);
        assert_eq!(&e.event_type, name);
        assert_eq!(e.payload, payload);
        assert_eq!(e.metadata, metadata);
        assert_eq!(e.event_id, id);
    }
}

// ---- the small aggregate the suite uses -------------------------------------

fn current_schema(mut event: NewEvent) -> NewEvent {
    event.schema_version = 2;
    event
}

#[derive(Deserialize)]
struct IncrementedV1 {
    amount: i64,
}

#[derive(Serialize)]
struct IncrementedV2 {
    by: i64,
}

/// The suite's test aggregate: a counter.
pub struct Counter;

/// Events of [`Counter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CounterEvent {
    /// The counter went up.
    Incremented {
        /// By how much.
        by: i64,
    },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> &'static str {
        "Incremented"
    }
    fn schema_version(&self) -> u32 {
        2
    }
}

/// Commands of [`Counter`].
#[derive(Debug, Clone)]
pub enum CounterCommand {
    /// Add to the counter.
    Increment(i64),
}

/// Refusals of [`Counter`].
#[derive(Debug, thiserror::Error)]
#[error("the counter refuses negative increments")]
pub struct NegativeIncrement;

impl Aggregate for Counter {
    const TYPE: &'static str = "counter";
    type State = i64;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = NegativeIncrement;

    fn handle(_: &i64, command: CounterCommand) -> Result<Vec<CounterEvent>, NegativeIncrement> {
        match command {
            CounterCommand::Increment(by) if by < 0 => Err(NegativeIncrement),
            CounterCommand::Increment(by) => Ok(vec![CounterEvent::Incremented { by }]),
        }
    }

    fn apply(state: i64, event: &CounterEvent) -> i64 {
        match event {
            CounterEvent::Incremented { by } => state + by,
        }
    }
}

/// Runs the whole conformance suite against a backend, one `#[test]` per
/// guarantee, named after it.
///
/// `store:` is an expression evaluating to a future of a fresh, empty store
/// (it is evaluated once per test). The optional `projection:` is a closure
/// taking a clone of that store and returning a future of
/// `(checkpoint_store, counting_projection)` for guarantee 7.
#[macro_export]
macro_rules! conformance_tests {
    (store: $store:expr $(,)?) => {
        $crate::conformance_tests!(@store $store);
    };
    (store: $store:expr, projection: $projection:expr $(,)?) => {
        $crate::conformance_tests!(@store $store);
        #[test]
        fn g7_projection_exactly_once() {
            $crate::testing::run(async {
                let store = $store.await;
                let (checkpoints, projection) = ($projection)(store.clone()).await;
                $crate::testing::conformance::projection_exactly_once(store, checkpoints, projection).await
            })
        }
    };
    (@store $store:expr) => {
        #[test]
        fn g1_optimistic_concurrency() {
            $crate::testing::run(async { $crate::testing::conformance::optimistic_concurrency($store.await).await })
        }
        #[test]
        fn g2_idempotent_append() {
            $crate::testing::run(async { $crate::testing::conformance::idempotent_append($store.await).await })
        }
        #[test]
        fn g3_atomic_batch() {
            $crate::testing::run(async { $crate::testing::conformance::atomic_batch($store.await).await })
        }
        #[test]
        fn g4_per_stream_order() {
            $crate::testing::run(async { $crate::testing::conformance::per_stream_order($store.await).await })
        }
        #[test]
        fn g5_global_log_never_skips() {
            $crate::testing::run(async { $crate::testing::conformance::global_log_never_skips($store.await).await })
        }
        #[test]
        fn g6_catch_up_then_live() {
            $crate::testing::run(async { $crate::testing::conformance::catch_up_then_live($store.await).await })
        }
        #[test]
        fn g8_bad_stored_data_is_a_clear_error() {
            $crate::testing::run(async { $crate::testing::conformance::bad_stored_data_is_a_clear_error($store.await).await })
        }
        #[test]
        fn g9_values_round_trip_verbatim() {
            $crate::testing::run(async { $crate::testing::conformance::values_round_trip_verbatim($store.await).await })
        }
    };
}
