//! dcb.events under concurrency: the append condition is checked in the
//! append's atomic step, so racers on one boundary cannot both commit,
//! racers on disjoint boundaries never fail each other, and positions a
//! read hands out never move backwards.

use std::{collections::HashSet, sync::Arc};

use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
use crate::{ExpectedVersion, NewEvent, Position, StoreError};

use super::support::*;

/// How many writers race in each check.
const RACERS: usize = 12;

/// A fresh tag `key:<uuid>`: tests sharing a database never meet.
pub(super) fn fresh_tag(key: &str) -> Tag {
    Tag::pair(key, Uuid::now_v7()).expect("valid tag")
}

/// A fresh event type: a types-only query of it sees this test's events only.
fn fresh_type(name: &str) -> String {
    format!("{name}{}", Uuid::now_v7().simple())
}

pub(super) fn tagged(event_type: &str, tags: &[&Tag]) -> TaggedEvent {
    TaggedEvent::new(
        NewEvent::raw(event_type, json!({ "at": Uuid::now_v7().to_string() })),
        tags.iter().map(|&tag| tag.clone()),
    )
}

/// Every racer reads the boundary, waits for the others, and appends with
/// the condition "nothing matching since my read". Returns the winners'
/// positions and asserts every loser got a typed condition failure naming
/// a matching event.
async fn race<S: DcbStore + Clone + 'static>(
    store: &S,
    query: Query,
    make: impl Fn(usize) -> TaggedEvent,
) -> Vec<Position> {
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for i in 0..RACERS {
        let store = store.clone();
        let barrier = barrier.clone();
        let query = query.clone();
        let event = make(i);
        racers.push(tokio::spawn(async move {
            let read = store.read_query(&query, None, None).await.expect("read");
            barrier.wait().await;
            let condition = AppendCondition::new(query, read.head);
            store.append_events(vec![event], Some(&condition)).await
        }));
    }
    let mut won = Vec::new();
    for racer in racers {
        match tokio::time::timeout(WAIT, racer)
            .await
            .expect("a racer hung")
            .expect("a racer panicked")
        {
            Ok(outcome) => won.push(outcome.last_position.expect("a position")),
            Err(StoreError::AppendConditionFailed { first_match, .. }) => {
                assert!(first_match > Position::START)
            }
            Err(other) => panic!("a racer failed with {other}"),
        }
    }
    won
}

/// Of racers whose conditions match each other's events (by tag, by type
/// only, by several tags), exactly one commits per round; the rest get
/// [`StoreError::AppendConditionFailed`].
pub async fn dcb_racers_on_one_boundary<S: DcbStore + Clone + 'static>(store: S) {
    for round in 0..3 {
        let tag = fresh_tag("username");
        let query = Query::from_items([QueryItem::tags([tag.clone()])]);
        let won = race(&store, query, |_| tagged("UserRegistered", &[&tag])).await;
        assert_eq!(won.len(), 1, "round {round} by tag: {won:?} committed");
    }
    let event_type = fresh_type("InvoiceCreated");
    let query = Query::from_items([QueryItem::types([event_type.clone()])]);
    let won = race(&store, query, |_| tagged(&event_type, &[])).await;
    assert_eq!(won.len(), 1, "by type only: {won:?} committed");

    // Two tags AND-ed; each racer also writes an unrelated tag of its own.
    let (a, b) = (fresh_tag("course"), fresh_tag("student"));
    let query = Query::from_items([QueryItem::new(["Subscribed"], [a.clone(), b.clone()])]);
    let won = race(&store, query, |_| {
        tagged("Subscribed", &[&a, &b, &fresh_tag("noise")])
    })
    .await;
    assert_eq!(won.len(), 1, "by two tags: {won:?} committed");
}

/// Racers on disjoint boundaries (each its own tag, with unrelated plain
/// appends going on) all commit, several times over: no false conflicts.
pub async fn dcb_disjoint_boundaries_never_conflict<S: DcbStore + Clone + 'static>(store: S) {
    let barrier = Arc::new(Barrier::new(RACERS + 1));
    let mut writers = Vec::new();
    for _ in 0..RACERS {
        let store = store.clone();
        let barrier = barrier.clone();
        writers.push(tokio::spawn(async move {
            let tag = fresh_tag("account");
            let query = Query::from_items([QueryItem::tags([tag.clone()])]);
            barrier.wait().await;
            for _ in 0..5 {
                let read = store.read_query(&query, None, None).await?;
                let condition = AppendCondition::new(query.clone(), read.head);
                store
                    .append_events(vec![tagged("Deposited", &[&tag])], Some(&condition))
                    .await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    let plain = {
        let store = store.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..20 {
                store
                    .append(&stream("unrelated"), ExpectedVersion::NoStream, events(1))
                    .await
                    .expect("an unrelated plain append");
            }
        })
    };
    for writer in writers {
        tokio::time::timeout(WAIT, writer)
            .await
            .expect("a writer hung")
            .expect("a writer panicked")
            .expect("a writer on its own boundary was refused");
    }
    plain.await.expect("the plain writer panicked");
}

/// A decision taken on a read must fail if a matching event commits after
/// that read (while the decision is being made), naming that event; a
/// non-matching commit meanwhile does not fail it.
pub async fn dcb_commit_during_a_read_is_detected<S: DcbStore + Clone + 'static>(store: S) {
    let tag = fresh_tag("course");
    let query = Query::from_items([QueryItem::tags([tag.clone()])]);
    store
        .append_events(vec![tagged("CourseDefined", &[&tag])], None)
        .await
        .expect("define");
    // A long read: page by page, one event per page.
    let first = store
        .read_query(&query, None, Some(1))
        .await
        .expect("first page");
    assert_eq!(first.events.len(), 1);
    let rest = store
        .read_query(&query, first.head, Some(1))
        .await
        .expect("second page");
    assert!(rest.events.is_empty());
    let decided_at = rest.head;
    // Unrelated commits meanwhile do not matter...
    store
        .append_events(vec![tagged("CourseDefined", &[&fresh_tag("course")])], None)
        .await
        .expect("unrelated");
    // ...a matching one does.
    let sneaked = store
        .append_events(vec![tagged("StudentSubscribed", &[&tag])], None)
        .await
        .expect("sneaked in")
        .last_position
        .expect("a position");
    let condition = AppendCondition::new(query.clone(), decided_at);
    match store
        .append_events(vec![tagged("StudentSubscribed", &[&tag])], Some(&condition))
        .await
    {
        Err(StoreError::AppendConditionFailed {
            first_match,
            condition: failed,
        }) => {
            assert_eq!(first_match, sneaked, "the failure names the sneaked event");
            assert_eq!(*failed, condition);
        }
        other => panic!("a commit during the read went unnoticed: {other:?}"),
    }
    // Decided again on a fresh read, it commits.
    let read = store.read_query(&query, None, None).await.expect("read");
    assert_eq!(read.events.len(), 2);
    let condition = AppendCondition::new(query, read.head);
    store
        .append_events(vec![tagged("StudentSubscribed", &[&tag])], Some(&condition))
        .await
        .expect("decided on fresh facts");
}

/// While writers append, a reader following a query from each read's head
/// sees positions that only increase, and at the end every matching event
/// exactly once.
pub async fn dcb_positions_only_increase<S: DcbStore + Clone + 'static>(store: S) {
    let tag = fresh_tag("meter");
    let query = Query::from_items([QueryItem::tags([tag.clone()])]);
    let per_writer = 10;
    let mut writers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        let tag = tag.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..per_writer {
                store
                    .append_events(vec![tagged("Measured", &[&tag])], None)
                    .await
                    .expect("append");
            }
        }));
    }
    let mut seen = Vec::new();
    let mut after = None;
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.len() < 4 * per_writer {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reader never saw every event"
        );
        let read = store
            .read_query(&query, after, Some(3))
            .await
            .expect("read");
        for event in &read.events {
            assert!(
                Some(event.event.position) > after,
                "a position moved backwards"
            );
            after = Some(event.event.position);
            seen.push(event.event.event_id);
        }
        assert!(read.head >= after, "the head lies before a returned event");
        after = read.head.max(after);
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "an event was read twice");
    let all = store
        .read_query(&query, None, None)
        .await
        .expect("read all");
    assert_eq!(all.events.len(), seen.len(), "an event was skipped");
}

/// A conditional append re-sent with the same event ids after it committed
/// returns the original positions instead of a condition failure, and
/// writes nothing; a different batch with the same condition fails.
pub async fn dcb_resend_returns_the_original_position<S: DcbStore + Clone + 'static>(store: S) {
    let tag = fresh_tag("order");
    let query = Query::from_items([QueryItem::tags([tag.clone()])]);
    let condition = AppendCondition::new(query.clone(), None);
    let batch = vec![tagged("OrderPlaced", &[&tag]), tagged("OrderPaid", &[&tag])];
    let first = store
        .append_events(batch.clone(), Some(&condition))
        .await
        .expect("first");
    let again = store
        .append_events(batch, Some(&condition))
        .await
        .expect("a re-send is not a failure");
    assert!(again.resent);
    assert_eq!(again.first_position, first.first_position);
    assert_eq!(again.last_position, first.last_position);
    let read = store.read_query(&query, None, None).await.expect("read");
    assert_eq!(read.events.len(), 2, "the re-send wrote again");
    assert_eq!(read.events[0].tags, vec![tag.clone()]);
    let other = store
        .append_events(vec![tagged("OrderPlaced", &[&tag])], Some(&condition))
        .await;
    assert!(
        matches!(other, Err(StoreError::AppendConditionFailed { first_match, .. }) if Some(first_match) == first.first_position),
        "{other:?}"
    );
}

/// Plain appends (no tags, no condition) of a type a condition names cannot
/// slip between a conditional append's read and its commit: for every
/// committed conditional append, no matching event lies between the head
/// it decided on and its own position, while 4 plain writers append that
/// type (40 events each) as fast as they can.
pub async fn dcb_plain_writers_cannot_slip_under_a_condition<S: DcbStore + Clone + 'static>(
    store: S,
) {
    let event_type = fresh_type("Claimed");
    let query = Query::from_items([QueryItem::types([event_type.clone()])]);
    let mut plain = Vec::new();
    for _ in 0..4 {
        let (store, event_type) = (store.clone(), event_type.clone());
        plain.push(tokio::spawn(async move {
            for _ in 0..40 {
                store
                    .append(
                        &stream("plain"),
                        ExpectedVersion::NoStream,
                        vec![NewEvent::raw(event_type.as_str(), json!({}))],
                    )
                    .await
                    .expect("a plain append");
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut deciders = Vec::new();
    for _ in 0..4 {
        let (store, query, event_type) = (store.clone(), query.clone(), event_type.clone());
        deciders.push(tokio::spawn(async move {
            // Until each decider committed three times: once the plain
            // writers are done, nothing stands in its way.
            let mut committed = Vec::new();
            while committed.len() < 3 {
                let read = store.read_query(&query, None, None).await.expect("read");
                let condition = AppendCondition::new(query.clone(), read.head);
                match store
                    .append_events(vec![tagged(&event_type, &[])], Some(&condition))
                    .await
                {
                    Ok(outcome) => {
                        committed.push((read.head, outcome.last_position.expect("a position")))
                    }
                    Err(error) if error.is_condition_failed() => {}
                    Err(error) => panic!("{error}"),
                }
            }
            committed
        }));
    }
    let mut committed = Vec::new();
    for decider in deciders {
        committed.extend(
            tokio::time::timeout(WAIT, decider)
                .await
                .expect("a decider hung")
                .expect("a decider panicked"),
        );
    }
    for writer in plain {
        writer.await.expect("a plain writer panicked");
    }
    assert!(
        !committed.is_empty(),
        "no conditional append ever committed"
    );
    let all = store.read_query(&query, None, None).await.expect("read");
    for (head, position) in committed {
        let slipped: Vec<Position> = all
            .events
            .iter()
            .map(|e| e.event.position)
            .filter(|&p| Some(p) > head && p < position)
            .collect();
        assert!(
            slipped.is_empty(),
            "events {slipped:?} slipped between a condition's head {head:?} and its commit at {position}"
        );
    }
}
