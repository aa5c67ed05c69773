//! A batch is written whole or not at all.

use crate::{EventStore, ExpectedVersion, StoreError};

use super::support::*;

/// A batch in which one event cannot be written writes none.
pub async fn atomic_batch<S: EventStore>(store: S) {
    let s1 = stream("atomic-a");
    let taken = events(1);
    store
        .append(&s1, ExpectedVersion::NoStream, taken.clone())
        .await
        .expect("setup append");
    let s2 = stream("atomic-b");
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
