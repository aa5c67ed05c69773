//! The global log never skips an event that commits late.

use std::time::Duration;

use crate::{EventStore, ExpectedVersion, Position, Subscription};

use super::support::*;

/// A subscriber following the global log while 8 writers append
/// concurrently receives every committed event exactly once, in position
/// order and with each stream in version order.
pub async fn global_log_never_skips<S: EventStore + Clone + 'static>(store: S) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 40;
    const PER_APPEND: usize = 2;
    let total = WRITERS * APPENDS * PER_APPEND;

    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_page_size(17)
        .with_poll_interval(Duration::from_millis(50));
    let reader = tokio::spawn(async move {
        let mut received = Vec::with_capacity(total);
        while received.len() < total {
            let event = tokio::time::timeout(WAIT, subscription.next())
                .await
                .expect("the subscriber stopped receiving events")
                .expect("subscription error");
            received.push(event);
        }
        received
    });
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let s = stream(&format!("writer{w}"));
            for i in 0..APPENDS {
                store
                    .append(
                        &s,
                        ExpectedVersion::Exact((i * PER_APPEND) as u64),
                        events(PER_APPEND),
                    )
                    .await
                    .expect("append");
                if i % 3 == w % 3 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer panicked");
    }
    let received = reader.await.expect("reader panicked");
    check_exactly_once_in_order(&received, total);
    let log = read_whole_log(&store, 33).await;
    assert_eq!(
        log.len(),
        total,
        "paging the log must return every event once"
    );
}
