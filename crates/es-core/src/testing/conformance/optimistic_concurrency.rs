//! Appends check the expected version, and of many racing writers exactly
//! one wins.

use std::sync::Arc;

use tokio::sync::Barrier;
use uuid::Uuid;

use crate::{EventStore, ExecuteError, ExpectedVersion, Repository, StoreError};

use super::{counter::*, support::*};

/// Appends check the expected version; of 32 concurrent appends at the
/// same version exactly one wins and 31 get a typed conflict; nothing is
/// half-written. The same race through the [`Repository`] gives 31
/// [`ExecuteError::Conflict`].
pub async fn optimistic_concurrency<S: EventStore + Clone + 'static>(store: S) {
    let s = stream("race");
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
