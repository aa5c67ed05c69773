//! Projections apply each event exactly once, across failures, restarts and
//! racing runners.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    BoxError, CheckpointStore, EventStore, ExpectedVersion, Projection, ProjectionRunner,
    RecordedEvent,
};

use super::support::*;

/// A projection that counts how often each event was applied, in its own store.
///
/// Backends implement it in their conformance test with a table keyed by
/// event id (the count is committed in the projection's transaction), and
/// clear that table in [`Projection::reset`] (rebuilds start from nothing).
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

/// A projection runner that fails mid-batch and is restarted applies
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
        let s = stream(&format!("projected{}", i % 3));
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
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), failing)
        .expect("a valid projection name")
        .with_batch_size(50);
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
        .expect("a valid projection name")
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
        let s = stream(&format!("raced{}", i % 4));
        store
            .append(&s, ExpectedVersion::Any, events(5))
            .await
            .expect("append");
    }
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let runner =
                ProjectionRunner::new(store.clone(), checkpoints.clone(), projection.clone())
                    .expect("a valid projection name")
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
    let s = stream("live");
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
