//! Subscriptions catch up on history, then follow the log live.

use std::time::Duration;

use crate::{EventStore, ExpectedVersion, Position, Subscription};

use super::support::*;

/// A subscription catches up on history while appends continue, then
/// keeps receiving new events live, with no gap and no duplicate.
pub async fn catch_up_then_live<S: EventStore + Clone + 'static>(store: S) {
    let s = stream("catch-up");
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
