//! Nothing waits on itself: the projection runner never calls its checkpoint
//! store while it holds one of that store's transactions (on a pool of one
//! connection, such a call would wait for the connection its own transaction
//! holds until the pool's acquire timeout). A checkpoint store with a single
//! "connection" refuses such calls here, so every runner path is checked
//! without a database; the backends run the same paths on real pools of
//! one (`projection_runner_on_one_connection`). And a rebuild whose
//! checkpoint another runner moves meanwhile resets again.

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};

use es_core::{
    async_trait, BoxError, CheckpointStore, EventStore, ExpectedVersion, InMemoryProjectionStore,
    InMemoryStore, NewEvent, Position, Projection, ProjectionError, ProjectionRunner,
    RecordedEvent, StreamId,
};

/// The read model: the event ids applied.
type Applied = Vec<uuid::Uuid>;

/// A checkpoint store with one connection: while a transaction is open,
/// any other call fails instead of waiting for it.
#[derive(Clone, Default)]
struct OneConnection {
    inner: InMemoryProjectionStore<Applied>,
    busy: Arc<AtomicBool>,
}

/// A transaction holding the one connection until it is committed or dropped.
struct Held {
    model: Applied,
    busy: Arc<AtomicBool>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::SeqCst);
    }
}

impl OneConnection {
    fn refuse_if_held(&self, call: &str) -> Result<(), ProjectionError> {
        if self.busy.load(Ordering::SeqCst) {
            return Err(ProjectionError::backend(format!(
                "{call} asked for a second connection while a transaction holds the only one"
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl CheckpointStore for OneConnection {
    type Transaction = Held;

    async fn begin(&self) -> Result<Held, ProjectionError> {
        self.refuse_if_held("begin")?;
        let model = self.inner.begin().await?;
        self.busy.store(true, Ordering::SeqCst);
        Ok(Held {
            model,
            busy: self.busy.clone(),
        })
    }

    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError> {
        self.refuse_if_held("load_checkpoint")?;
        self.inner.load_checkpoint(projection).await
    }

    async fn commit(
        &self,
        mut tx: Held,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        // The transaction's own connection: no second one is needed.
        let model = std::mem::take(&mut tx.model);
        let committed = self
            .inner
            .commit(model, projection, previous, checkpoint)
            .await;
        drop(tx);
        committed
    }
}

/// Records event ids; `reset` clears them.
#[derive(Clone)]
struct Ids;

#[async_trait]
impl Projection<Held> for Ids {
    fn name(&self) -> &str {
        "ids"
    }
    async fn apply(&self, tx: &mut Held, event: &RecordedEvent) -> Result<(), BoxError> {
        tx.model.push(event.event_id);
        Ok(())
    }
    async fn reset(&self, tx: &mut Held) -> Result<(), BoxError> {
        tx.model.clear();
        Ok(())
    }
}

async fn store_with(events: usize) -> (InMemoryStore, Position) {
    let store = InMemoryStore::new();
    let batch = (0..events)
        .map(|i| NewEvent::raw("Counted", serde_json::json!({ "i": i })))
        .collect();
    let outcome = store
        .append(
            &StreamId::new("counted-1").expect("stream id"),
            ExpectedVersion::NoStream,
            batch,
        )
        .await
        .expect("append");
    (store, outcome.last_position.expect("a position"))
}

#[tokio::test]
async fn every_runner_path_completes_on_a_single_connection() {
    let (store, last) = store_with(12).await;
    let checkpoints = OneConnection::default();
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), Ids)
        .expect("a valid projection name")
        .with_batch_size(5);

    assert_eq!(runner.catch_up().await.expect("catch_up"), last);
    assert_eq!(checkpoints.inner.snapshot().len(), 12);

    assert_eq!(runner.rebuild().await.expect("rebuild"), last);
    assert_eq!(
        checkpoints.inner.snapshot().len(),
        12,
        "reset, then all again"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = runner.clone();
    let task = tokio::spawn(async move {
        live.run_until(async {
            let _ = stopped.await;
        })
        .await
    });
    let outcome = store
        .append(
            &StreamId::new("counted-2").expect("stream id"),
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("Counted", serde_json::json!({}))],
        )
        .await
        .expect("append");
    let appended = outcome.last_position.expect("a position");
    runner.wait_for(appended).await.expect("the runner stopped");
    let _ = stop.send(());
    task.await
        .expect("the live runner panicked")
        .expect("the live runner failed");
    assert_eq!(checkpoints.inner.snapshot().len(), 13);
    assert_eq!(
        checkpoints.load_checkpoint("ids").await.expect("load"),
        appended
    );
}

/// Resets, and on its first reset moves the checkpoint behind the
/// runner's back (another runner committing a batch meanwhile).
#[derive(Clone)]
struct MovedOnce {
    checkpoints: InMemoryProjectionStore<Applied>,
    resets: Arc<AtomicUsize>,
}

#[async_trait]
impl Projection<Applied> for MovedOnce {
    fn name(&self) -> &str {
        "moved-once"
    }
    async fn apply(&self, tx: &mut Applied, event: &RecordedEvent) -> Result<(), BoxError> {
        tx.push(event.event_id);
        Ok(())
    }
    async fn reset(&self, tx: &mut Applied) -> Result<(), BoxError> {
        tx.clear();
        if self.resets.fetch_add(1, Ordering::SeqCst) == 0 {
            let other = self.checkpoints.begin().await?;
            let at = self.checkpoints.load_checkpoint(self.name()).await?;
            self.checkpoints
                .commit(other, self.name(), at, Position::from_sequence(1))
                .await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_rebuild_whose_checkpoint_moves_meanwhile_resets_again() {
    let (store, last) = store_with(6).await;
    let checkpoints = InMemoryProjectionStore::<Applied>::new();
    let projection = MovedOnce {
        checkpoints: checkpoints.clone(),
        resets: Arc::new(AtomicUsize::new(0)),
    };
    let runner = ProjectionRunner::new(store, checkpoints.clone(), projection.clone())
        .expect("a valid projection name");
    runner.catch_up().await.expect("catch_up");

    assert_eq!(runner.rebuild().await.expect("rebuild"), last);
    assert_eq!(
        projection.resets.load(Ordering::SeqCst),
        2,
        "the moved checkpoint made the first reset roll back"
    );
    assert_eq!(checkpoints.snapshot().len(), 6, "each event applied once");
}
