//! The gap-safe global log under late commits and load: one append's
//! transaction is held open while later appends commit; a stress run of 8
//! writers x 2,000 appends with random delays; reads right after appends
//! while other transactions come and go.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use crate::common::TestStore;
use es_core::{
    EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, StreamId, Subscription,
};
use es_postgres::sqlx::{self, Connection, PgConnection};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", Uuid::now_v7())).expect("stream id")
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Happened", serde_json::json!({ "i": i })))
        .collect()
}

/// Receives events from `subscription` until `n` arrived (bounded wait).
async fn receive<S: EventStore>(
    subscription: &mut Subscription<S>,
    n: usize,
) -> Vec<RecordedEvent> {
    let mut received = Vec::with_capacity(n);
    while received.len() < n {
        let event = tokio::time::timeout(WAIT, subscription.next())
            .await
            .expect("the subscriber stopped receiving events")
            .expect("subscription error");
        received.push(event);
    }
    received
}

/// Every event once, in position order, each stream in version order 1, 2, 3, ….
fn check_exactly_once_in_order(received: &[RecordedEvent]) {
    let ids: HashSet<Uuid> = received.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), received.len(), "an event was delivered twice");
    assert!(
        received.windows(2).all(|w| w[0].position < w[1].position),
        "events were not delivered in global order"
    );
    let mut last: HashMap<&StreamId, u64> = HashMap::new();
    for e in received {
        let previous = last.insert(&e.stream_id, e.version).unwrap_or(0);
        assert_eq!(
            e.version,
            previous + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_commit_is_delivered_and_nothing_overtakes_it() {
    let store = TestStore::new().await;
    let held_stream = stream("held");
    let other = stream("other");
    store
        .append(&other, ExpectedVersion::NoStream, events(1))
        .await
        .expect("first append");

    // A live subscriber that already received the first event.
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_poll_interval(Duration::from_millis(100));
    let first = receive(&mut subscription, 1).await;
    assert_eq!(first[0].stream_id, other);

    // Hold one append's transaction open: it takes its transaction id (and
    // sequence numbers) now, but commits only later.
    let mut held = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("connect");
    let mut tx = held.begin().await.expect("begin");
    let held_batch = events(2);
    let held_ids: Vec<Uuid> = held_batch.iter().map(|e| e.event_id).collect();
    let held_outcome = store
        .store
        .append_in(&mut tx, &held_stream, ExpectedVersion::NoStream, held_batch)
        .await
        .expect("held append");

    // Later appends commit while it is open.
    let mut later = Vec::new();
    for i in 0..5u64 {
        let outcome = store
            .append(&other, ExpectedVersion::Exact(1 + i), events(1))
            .await
            .expect("later append");
        assert!(
            outcome.first_position > held_outcome.last_position,
            "a later transaction must sort after the held one"
        );
        later.push(outcome);
    }
    // Nothing may overtake the held transaction: the subscriber does not
    // receive the later events yet (they would be past a position the held
    // events still have to fill).
    let early = tokio::time::timeout(Duration::from_millis(700), subscription.next()).await;
    assert!(
        early.is_err(),
        "an event was delivered past an uncommitted append: {early:?}"
    );

    tx.commit().await.expect("commit the held append");
    store.store.notify_appended();

    // The held events arrive first, then the later ones, each exactly once.
    let received = receive(&mut subscription, 7).await;
    let ids: Vec<Uuid> = received.iter().map(|e| e.event_id).collect();
    assert_eq!(&ids[..2], &held_ids[..], "the held events come first");
    assert!(received[2..].iter().all(|e| e.stream_id == other));
    let mut all = first;
    all.extend(received);
    check_exactly_once_in_order(&all);
    assert_eq!(
        all.last().map(|e| e.position),
        later.last().and_then(|o| o.last_position)
    );

    // And the held stream continues at version 3.
    let outcome = store
        .append(&held_stream, ExpectedVersion::Exact(2), events(1))
        .await
        .expect("append after the held commit");
    assert_eq!(outcome.version, 3);
    let tail = receive(&mut subscription, 1).await;
    assert_eq!(
        (tail[0].stream_id.clone(), tail[0].version),
        (held_stream, 3)
    );
    held.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolled_back_append_leaves_no_trace_and_does_not_block() {
    let store = TestStore::new().await;
    let s = stream("rolled-back");
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_poll_interval(Duration::from_millis(100));
    let mut conn = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("connect");
    let mut tx = conn.begin().await.expect("begin");
    store
        .store
        .append_in(&mut tx, &s, ExpectedVersion::NoStream, events(3))
        .await
        .expect("append in a transaction");
    let other = stream("after");
    store
        .append(&other, ExpectedVersion::NoStream, events(1))
        .await
        .expect("append");
    tx.rollback().await.expect("rollback");
    let received = receive(&mut subscription, 1).await;
    assert_eq!(received[0].stream_id, other);
    assert_eq!(store.stream_version(&s).await.expect("version"), 0);
    // The stream can be created afresh.
    let outcome = store
        .append(&s, ExpectedVersion::NoStream, events(1))
        .await
        .expect("append");
    assert_eq!(outcome.version, 1);
    conn.close().await.expect("close");
}

/// 8 writers x 2,000 appends with random small delays; one live subscriber
/// receives every event exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stress_8_writers_2000_appends_each() {
    const WRITERS: usize = 8;
    const APPENDS: usize = 2_000;
    let total = WRITERS * APPENDS;
    let store = TestStore::with_pool_size(10).await;
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_page_size(500)
        .with_poll_interval(Duration::from_millis(200));
    let reader = tokio::spawn(async move { receive(&mut subscription, total).await });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let s = stream(&format!("stress-{w}"));
            let mut ids = Vec::with_capacity(APPENDS);
            for i in 0..APPENDS {
                let batch = events(1);
                ids.push(batch[0].event_id);
                store
                    .append(&s, ExpectedVersion::Exact(i as u64), batch)
                    .await
                    .expect("append");
                // A random pause of 0-300 µs now and then, so commits interleave
                // differently on every run.
                let noise = Uuid::new_v4().as_u128();
                if noise.is_multiple_of(4) {
                    tokio::time::sleep(Duration::from_micros((noise >> 8) as u64 % 300)).await;
                }
            }
            ids
        }));
    }
    let mut sent = HashSet::new();
    for writer in writers {
        sent.extend(writer.await.expect("writer panicked"));
    }
    let received = tokio::time::timeout(Duration::from_secs(120), reader)
        .await
        .expect("the subscriber did not receive every event")
        .expect("reader panicked");
    assert_eq!(received.len(), total);
    check_exactly_once_in_order(&received);
    let got: HashSet<Uuid> = received.iter().map(|e| e.event_id).collect();
    assert_eq!(
        got, sent,
        "the subscriber must receive exactly the appended events"
    );
    // Nothing more arrives.
    let extra = store
        .read_all(received[total - 1].position, 10)
        .await
        .expect("read_all");
    assert!(extra.is_empty());
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.es_events",
        store.schema().quoted()
    )))
    .fetch_one(store.store.pool())
    .await
    .expect("count");
    assert_eq!(count as usize, total);
}

/// Read-your-writes on the global log while other transactions come and go:
/// a page read right after an append returns it. (A transaction older than
/// the append can finish between the read's two queries; the read must then
/// read again, not report "nothing yet" and leave a subscriber asleep.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_right_after_an_append_sees_it_while_other_transactions_come_and_go() {
    const ROUNDS: usize = 300;
    let store = TestStore::new().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Short transactions that take a transaction id, back to back, as
    // writers of other schemas or NOTIFYs do.
    let churn: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut conn = PgConnection::connect(&crate::common::database_url())
                    .await
                    .expect("connect");
                let mut transactions = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut tx = conn.begin().await.expect("begin");
                    sqlx::query("SELECT pg_current_xact_id()")
                        .execute(&mut *tx)
                        .await
                        .expect("take an xid");
                    tx.commit().await.expect("commit");
                    transactions += 1;
                }
                transactions
            })
        })
        .collect();

    let s = stream("ryw");
    let mut after = Position::START;
    for round in 0..ROUNDS {
        let outcome = store
            .append(&s, ExpectedVersion::Exact(round as u64), events(1))
            .await
            .expect("append");
        let page = store.read_all(after, 10).await.expect("read_all");
        assert_eq!(
            page.iter().map(|e| e.version).collect::<Vec<_>>(),
            vec![round as u64 + 1],
            "round {round}: a committed append is missing from the next read"
        );
        after = outcome.last_position.expect("position");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in churn {
        assert!(task.await.expect("churn task") > 0);
    }
}
