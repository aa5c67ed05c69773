//! A cached state never answers for the store: two repositories over one
//! store (two service instances), and a refusal or no-op one decides from
//! its cache is confirmed against the stream before it is returned.

use uuid::Uuid;

use crate::{EventStore, ExecuteError, ExecuteOptions, Metadata, Repository};

use super::ticket::{Ticket, TicketCommand::*, TicketEvent, TicketRefusal, TicketStatus};

/// A refusal or no-op decided from a cached state the stream has moved
/// past is decided again on the current state (by `execute`) or is a
/// conflict (by `execute_at`); one the stream confirms is returned.
pub async fn cached_state_never_answers_for_the_store<S: EventStore + Clone + 'static>(store: S) {
    let r1 = Repository::<Ticket, S>::new(store.clone());
    let r2 = Repository::<Ticket, S>::new(store.clone());

    // A refusal: r1's cache says open, the stream says reserved.
    let id = cached_open_stream_reserved(&r1, &r2).await;
    let completed = r1
        .execute(id, Complete)
        .await
        .expect("r1 completes: the ticket is reserved, whatever r1's cache says");
    assert_eq!(completed.events, vec![TicketEvent::Completed]);
    assert_eq!(
        (completed.version, completed.state.status),
        (3, TicketStatus::Completed)
    );

    // A no-op: r1's cache says reserved, the stream says open again.
    let id = cached_reserved_stream_open(&r1, &r2).await;
    let reserved = r1
        .execute(id, Reserve)
        .await
        .expect("r1 reserves: the ticket is open again");
    assert_eq!(reserved.events, vec![TicketEvent::Reserved]);
    assert_eq!(
        (reserved.version, reserved.state.status),
        (4, TicketStatus::Reserved)
    );

    // execute_at: the same refusal and no-op are conflicts, since the stream
    // is not at the version asked for.
    let id = cached_open_stream_reserved(&r1, &r2).await;
    assert_conflict(
        r1.execute_at(id, 1, Complete, Metadata::default()).await,
        1,
        2,
    );
    assert_conflict(
        r1.execute_with_options(id, Complete, ExecuteOptions::new().expected_version(1))
            .await,
        1,
        2,
    );
    let id = cached_reserved_stream_open(&r1, &r2).await;
    assert_conflict(
        r1.execute_at(id, 2, Reserve, Metadata::default()).await,
        2,
        3,
    );

    // When the stream is where the cache says, the refusal and the no-op stand.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    match r1.execute(id, Complete).await {
        Err(ExecuteError::Rejected(TicketRefusal::NotReserved)) => {}
        other => panic!("expected NotReserved, got {:?}", other.map(|e| e.events)),
    }
    match r1.execute_at(id, 1, Complete, Metadata::default()).await {
        Err(ExecuteError::Rejected(TicketRefusal::NotReserved)) => {}
        other => panic!("expected NotReserved, got {:?}", other.map(|e| e.events)),
    }
    let nothing = r1.execute(id, Release).await.expect("a no-op");
    assert!(nothing.events.is_empty());
    assert_eq!((nothing.version, nothing.outcome.first_position), (1, None));
    let stream = Repository::<Ticket, S>::stream_id(id).expect("stream id");
    assert_eq!(store.stream_version(&stream).await.expect("version"), 1);
}

/// A ticket r1 opened (its cache: open, v1) and r2 then reserved (v2).
async fn cached_open_stream_reserved<S: EventStore + Clone + 'static>(
    r1: &Repository<Ticket, S>,
    r2: &Repository<Ticket, S>,
) -> Uuid {
    let id = Uuid::now_v7();
    r1.execute(id, Open)
        .await
        .expect("r1 opens (and caches v1)");
    r2.execute(id, Reserve).await.expect("r2 reserves (v2)");
    id
}

/// A ticket r1 opened and reserved (its cache: reserved, v2) and r2 then
/// released (open again, v3).
async fn cached_reserved_stream_open<S: EventStore + Clone + 'static>(
    r1: &Repository<Ticket, S>,
    r2: &Repository<Ticket, S>,
) -> Uuid {
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    r1.execute(id, Reserve)
        .await
        .expect("r1 reserves (and caches v2)");
    r2.execute(id, Release).await.expect("r2 releases (v3)");
    id
}

fn assert_conflict<T: std::fmt::Debug>(
    result: Result<T, ExecuteError<TicketRefusal>>,
    expected_version: u64,
    actual_version: u64,
) {
    match result {
        Err(ExecuteError::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (expected_version, actual_version)),
        other => panic!(
            "expected a conflict (asked for {expected_version}, stream at {actual_version}), got {other:?}"
        ),
    }
}
