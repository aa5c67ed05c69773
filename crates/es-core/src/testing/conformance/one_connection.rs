//! Nothing waits on itself: a projection runner needs one connection.
//!
//! Work done while a checkpoint store's transaction is open goes through
//! that transaction; the runner never asks the store for a second connection
//! while it holds one. So a store whose pool has a single connection (SQLite
//! in memory, a PostgreSQL pool of one) runs every path of the runner:
//! catch-up, rebuild, runners racing on one checkpoint, live following.
//! Each step is bounded well below the pools' acquire timeouts, so a
//! regression fails here at once instead of hanging.

use std::{future::Future, time::Duration};

use uuid::Uuid;

use crate::{CheckpointStore, EventStore, ExpectedVersion, Position, ProjectionRunner};

use super::{projections::CountingProjection, support::*};

/// How long one step may take: far below the 30 s acquire timeout of the
/// backends' pools, so waiting for a second connection shows as a timeout.
const STEP: Duration = Duration::from_secs(10);

/// Awaits `step`, panicking if it takes longer than [`STEP`].
async fn within<T>(what: &str, step: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, step).await {
        Ok(output) => output,
        Err(_) => panic!(
            "{what} did not finish within {STEP:?}: it waits for a connection its own transaction holds"
        ),
    }
}

/// Appends `streams` streams of `per_stream` events; their ids and the last
/// position.
async fn append_some<S: EventStore>(
    store: &S,
    streams: usize,
    per_stream: usize,
) -> (Vec<Uuid>, Position) {
    let mut ids = Vec::new();
    let mut last = Position::START;
    for i in 0..streams {
        let batch = events(per_stream);
        ids.extend(batch.iter().map(|e| e.event_id));
        let outcome = within(
            "an append",
            store.append(
                &stream(&format!("one-connection{i}")),
                ExpectedVersion::NoStream,
                batch,
            ),
        )
        .await
        .expect("append");
        last = last.max(outcome.last_position.expect("a position"));
    }
    (ids, last)
}

/// Asserts that `projection` applied exactly `ids`, each once.
async fn assert_applied_once<Tx: Send, P: CountingProjection<Tx>>(
    projection: &P,
    ids: &[Uuid],
    after: &str,
) {
    let counts = projection.applied().await;
    assert_eq!(counts.len(), ids.len(), "{after}: events applied");
    for id in ids {
        assert_eq!(counts.get(id), Some(&1), "{after}: event {id} applied");
    }
}

/// Every path of a [`ProjectionRunner`] completes on a store and checkpoint
/// store that share a pool of **one** connection: catch-up, rebuild (the
/// projection's `reset` must clear what [`CountingProjection::applied`]
/// counts), two runners racing on one checkpoint, and live following with
/// read-your-writes and a clean stop.
///
/// Call it with such a store (it cannot tell the pool's size itself); the
/// in-memory store passes trivially.
pub async fn projection_runner_on_one_connection<S, C, P>(store: S, checkpoints: C, projection: P)
where
    S: EventStore + Clone + 'static,
    C: CheckpointStore + Clone + 'static,
    P: CountingProjection<C::Transaction> + Clone + 'static,
{
    let (mut ids, last) = append_some(&store, 3, 8).await;
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), projection.clone())
        .expect("a valid projection name")
        .with_batch_size(5);

    let reached = within("catch_up", runner.catch_up())
        .await
        .expect("catch_up");
    assert!(
        reached >= last,
        "catch_up stopped at {reached}, before {last}"
    );
    assert_applied_once(&projection, &ids, "catch_up").await;

    let rebuilt = within("rebuild", runner.rebuild()).await.expect("rebuild");
    assert!(
        rebuilt >= last,
        "rebuild stopped at {rebuilt}, before {last}"
    );
    assert_applied_once(&projection, &ids, "rebuild").await;

    // Two runners of one projection: one of them finds the checkpoint moved
    // and reloads it, on the same single connection.
    let (more, _) = append_some(&store, 4, 5).await;
    ids.extend(more);
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let racer =
                ProjectionRunner::new(store.clone(), checkpoints.clone(), projection.clone())
                    .expect("a valid projection name")
                    .with_batch_size(3);
            tokio::spawn(async move { within("a racing catch_up", racer.catch_up()).await })
        })
        .collect();
    for racer in racers {
        racer
            .await
            .expect("a racing runner panicked")
            .expect("a racing runner failed");
    }
    assert_applied_once(&projection, &ids, "two racing runners").await;

    // Live: follow the log, read your writes, stop cleanly.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = runner.clone();
    let task = tokio::spawn(async move {
        live.run_until(async {
            let _ = stopped.await;
        })
        .await
    });
    let (more, last) = append_some(&store, 1, 3).await;
    ids.extend(more);
    within("wait_for while running live", runner.wait_for(last))
        .await
        .expect("the live runner stopped");
    assert_applied_once(&projection, &ids, "live following").await;
    let _ = stop.send(());
    within("stopping the live runner", task)
        .await
        .expect("the live runner panicked")
        .expect("the live runner failed");

    let stored = within(
        "load_checkpoint",
        checkpoints.load_checkpoint(projection.name()),
    )
    .await
    .expect("load_checkpoint");
    assert!(stored >= last, "the checkpoint {stored} is before {last}");
}
