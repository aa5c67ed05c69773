//! Re-sending a batch (same event ids) writes it once.

use uuid::Uuid;

use crate::{AppendOutcome, EventStore, ExpectedVersion, StoreError};

use super::support::*;

/// Re-sending a batch with the same event ids succeeds without writing twice.
pub async fn idempotent_append<S: EventStore>(store: S) {
    let s = stream("resend");
    let batch = events(3);
    let first = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("first append");
    let again = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("re-sent append must succeed");
    assert!(!first.resent, "a first append is no re-send");
    let original = AppendOutcome {
        resent: true,
        ..first
    };
    assert_eq!(
        again, original,
        "a re-sent append reports the original outcome, marked as a re-send"
    );
    let again_any = store
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .expect("re-sent append with Any must succeed");
    assert_eq!(again_any, original);
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
    let other = stream("resend-other");
    match store.append(&other, ExpectedVersion::Any, batch).await {
        Err(StoreError::DuplicateEventId { .. }) => {}
        other => panic!("expected DuplicateEventId, got {other:?}"),
    }
    assert_eq!(store.stream_version(&other).await.expect("version"), 0);
}
