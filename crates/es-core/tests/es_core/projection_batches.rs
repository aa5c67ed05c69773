//! `Projection::apply_batch`: the runner hands a projection each batch whole
//! (so it can write it in one statement), commits it with one checkpoint, and
//! rolls all of it back when the batch fails; the default still applies
//! events one by one and names the failing event. Meanwhile the runner
//! reports its catch-up progress (events done against the events that lay
//! after its checkpoint when it started).

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use es_core::{
    async_trait, BoxError, CheckpointStore, EventStore, ExpectedVersion, InMemoryProjectionStore,
    InMemoryStore, NewEvent, Position, Projection, ProjectionError, ProjectionRunner,
    RecordedEvent, StreamId,
};

/// The read model: the versions applied, in order.
type Applied = Vec<(String, u64)>;

/// Overrides `apply_batch`; counts batches and single applies.
#[derive(Clone, Default)]
struct Batched {
    batches: Arc<AtomicUsize>,
    singles: Arc<AtomicUsize>,
    fail_on_batch: Option<usize>,
}

#[async_trait]
impl Projection<Applied> for Batched {
    fn name(&self) -> &str {
        "batched"
    }

    async fn apply(&self, tx: &mut Applied, event: &RecordedEvent) -> Result<(), BoxError> {
        self.singles.fetch_add(1, Ordering::SeqCst);
        tx.push((event.stream_id.to_string(), event.version));
        Ok(())
    }

    async fn apply_batch(
        &self,
        tx: &mut Applied,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let n = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        tx.extend(events.iter().map(|e| (e.stream_id.to_string(), e.version)));
        if self.fail_on_batch == Some(n) {
            return Err(ProjectionError::backend("batch refused"));
        }
        Ok(())
    }
}

/// Uses the default `apply_batch`; fails on one event.
struct OneByOne {
    fail_at_version: u64,
}

#[async_trait]
impl Projection<Applied> for OneByOne {
    fn name(&self) -> &str {
        "one_by_one"
    }

    async fn apply(&self, tx: &mut Applied, event: &RecordedEvent) -> Result<(), BoxError> {
        if event.version == self.fail_at_version {
            return Err("refused".into());
        }
        tx.push((event.stream_id.to_string(), event.version));
        Ok(())
    }
}

async fn store_with(events: usize) -> InMemoryStore {
    let store = InMemoryStore::new();
    let stream = StreamId::new("booking-1").expect("stream id");
    let batch = (0..events)
        .map(|i| NewEvent::raw("Step", serde_json::json!({ "i": i })))
        .collect();
    store
        .append(&stream, ExpectedVersion::NoStream, batch)
        .await
        .expect("append");
    store
}

#[tokio::test]
async fn the_runner_hands_each_batch_whole_to_apply_batch() {
    let store = store_with(25).await;
    let checkpoints = InMemoryProjectionStore::<Applied>::new();
    let projection = Batched::default();
    let runner = ProjectionRunner::new(store, checkpoints.clone(), projection.clone())
        .expect("a valid projection name")
        .with_batch_size(10);
    let reached = runner.catch_up().await.expect("catch up");

    assert_eq!(projection.batches.load(Ordering::SeqCst), 3, "10 + 10 + 5");
    assert_eq!(projection.singles.load(Ordering::SeqCst), 0);
    let applied = checkpoints.snapshot();
    let versions: Vec<u64> = applied.iter().map(|(_, v)| *v).collect();
    assert_eq!(versions, (1..=25).collect::<Vec<_>>(), "in log order, once");
    assert_eq!(
        checkpoints.load_checkpoint("batched").await.expect("load"),
        reached
    );
}

#[tokio::test]
async fn a_failed_batch_rolls_back_whole_and_the_checkpoint_stays() {
    let store = store_with(25).await;
    let checkpoints = InMemoryProjectionStore::<Applied>::new();
    let projection = Batched {
        fail_on_batch: Some(2),
        ..Batched::default()
    };
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), projection)
        .expect("a valid projection name")
        .with_batch_size(10);
    let error = runner.catch_up().await.expect_err("the second batch fails");
    assert!(matches!(error, ProjectionError::Backend(_)), "{error}");
    assert_eq!(checkpoints.snapshot().len(), 10, "only the first batch");

    let runner = ProjectionRunner::new(store, checkpoints.clone(), Batched::default())
        .expect("a valid projection name")
        .with_batch_size(10);
    runner.catch_up().await.expect("resume");
    let versions: Vec<u64> = checkpoints.snapshot().iter().map(|(_, v)| *v).collect();
    assert_eq!(
        versions,
        (1..=25).collect::<Vec<_>>(),
        "resumed, none twice"
    );
}

#[tokio::test]
async fn the_default_applies_one_by_one_and_names_the_failing_event() {
    let store = store_with(25).await;
    let checkpoints = InMemoryProjectionStore::<Applied>::new();
    let runner = ProjectionRunner::new(
        store,
        checkpoints.clone(),
        OneByOne {
            fail_at_version: 17,
        },
    )
    .expect("a valid projection name")
    .with_batch_size(10);
    let error = runner.catch_up().await.expect_err("version 17 fails");
    match error {
        ProjectionError::Apply {
            projection,
            stream_id,
            version,
            event_type,
            ..
        } => {
            assert_eq!(
                (
                    projection.as_str(),
                    stream_id.as_str(),
                    version,
                    event_type.as_str()
                ),
                ("one_by_one", "booking-1", 17, "Step")
            );
        }
        other => panic!("expected Apply, got {other}"),
    }
    assert_eq!(
        checkpoints.snapshot().len(),
        10,
        "the failing batch rolled back"
    );
    assert_ne!(
        checkpoints
            .load_checkpoint("one_by_one")
            .await
            .expect("load"),
        Position::START
    );
}

#[tokio::test]
async fn catch_up_reports_progress_against_the_events_it_found() {
    let store = store_with(25).await;
    let checkpoints = InMemoryProjectionStore::<Applied>::new();
    let failing = Batched {
        fail_on_batch: Some(2),
        ..Batched::default()
    };
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), failing)
        .expect("a valid projection name")
        .with_batch_size(10);
    let progress = runner.catch_up_progress();
    assert!(
        progress.borrow().is_none(),
        "nothing before the first catch-up"
    );
    runner.catch_up().await.expect_err("the second batch fails");
    let stopped = progress.borrow().expect("a sample");
    assert_eq!((stopped.done, stopped.total), (10, Some(25)));
    assert_eq!(stopped.remaining(), Some(15));
    assert!(!stopped.caught_up);

    let runner = ProjectionRunner::new(store, checkpoints, Batched::default())
        .expect("a valid projection name")
        .with_batch_size(10);
    let progress = runner.catch_up_progress();
    runner.catch_up().await.expect("resume");
    let done = progress.borrow().expect("a sample");
    assert_eq!(
        (done.done, done.total, done.caught_up),
        (15, Some(15), true)
    );
    assert_eq!(done.position, checkpoint_of(&runner).await);

    runner.rebuild().await.expect("rebuild");
    let rebuilt = progress.borrow().expect("a sample");
    assert_eq!(
        (rebuilt.done, rebuilt.total, rebuilt.caught_up),
        (25, Some(25), true)
    );
    assert_eq!(rebuilt.fraction(), Some(1.0));

    runner.catch_up().await.expect("nothing new");
    let idle = progress.borrow().expect("a sample");
    assert_eq!((idle.done, idle.total, idle.caught_up), (0, Some(0), true));
}

async fn checkpoint_of<S, C, P>(runner: &ProjectionRunner<S, C, P>) -> Position
where
    S: EventStore + Clone,
    C: CheckpointStore,
    P: Projection<C::Transaction>,
{
    runner
        .checkpoints()
        .load_checkpoint(runner.projection().name())
        .await
        .expect("load")
}

#[tokio::test]
async fn run_until_reports_its_catch_up_before_following_live() {
    let store = store_with(25).await;
    let runner = ProjectionRunner::new(
        store,
        InMemoryProjectionStore::<Applied>::new(),
        Batched::default(),
    )
    .expect("a valid projection name")
    .with_batch_size(10);
    let mut progress = runner.catch_up_progress();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let runner = runner.clone();
        async move {
            runner
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let caught_up = *progress
        .wait_for(|p| p.is_some_and(|p| p.caught_up))
        .await
        .expect("the runner reports");
    let caught_up = caught_up.expect("a sample");
    assert_eq!((caught_up.done, caught_up.total), (25, Some(25)));
    let _ = stop.send(());
    running.await.expect("joined").expect("stopped cleanly");
}
