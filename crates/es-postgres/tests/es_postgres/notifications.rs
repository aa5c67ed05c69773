//! Live wake-ups across store instances (as across processes): a subscriber
//! whose safety-net poll is a minute away still wakes promptly on another
//! instance's append, also after its LISTEN connection was killed.

use std::time::Duration;

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId, Subscription};
use es_postgres::sqlx;
use uuid::Uuid;

const PROMPT: Duration = Duration::from_secs(10);

async fn listener_pids(store: &TestStore) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE query IN ($1, $1 || ';') AND pid <> pg_backend_pid()",
    )
    .bind(format!("LISTEN \"es_events_{}\"", store.schema().as_str()))
    .fetch_all(store.store.pool())
    .await
    .expect("pg_stat_activity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_instance_wakes_subscribers_even_after_a_lost_connection() {
    let writer = TestStore::new().await;
    let reader = writer.second_handle().await;
    let s = StreamId::new(format!("wake-{}", Uuid::now_v7())).expect("stream id");
    let mut subscription = Subscription::new(reader.clone(), Position::START)
        .with_poll_interval(Duration::from_secs(60));

    // Wait until the reader's LISTEN connection is up.
    tokio::time::timeout(PROMPT, async {
        while listener_pids(&writer).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the listener connects");

    let event = NewEvent::raw("Woke", serde_json::Value::Null);
    writer
        .append(&s, ExpectedVersion::NoStream, vec![event])
        .await
        .expect("append");
    let got = tokio::time::timeout(PROMPT, subscription.next())
        .await
        .expect("woken by NOTIFY, not by the 60 s poll")
        .expect("subscription");
    assert_eq!(got.version, 1);

    // Kill every LISTEN connection of this schema; the reader reconnects.
    let before = listener_pids(&writer).await;
    for pid in &before {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(writer.store.pool())
            .await
            .expect("terminate");
    }
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let now = listener_pids(&writer).await;
            if !now.is_empty() && now.iter().all(|pid| !before.contains(pid)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the listener reconnects");

    // Drain a possible reconnect wake-up, then a new append must still wake us.
    writer
        .append(
            &s,
            ExpectedVersion::Exact(1),
            vec![NewEvent::raw("Woke", serde_json::Value::Null)],
        )
        .await
        .expect("append");
    let got = tokio::time::timeout(PROMPT, subscription.next())
        .await
        .expect("woken after the reconnect")
        .expect("subscription");
    assert_eq!(got.version, 2);
}

/// The notifier sends at most one `NOTIFY` per interval, yet the last append
/// of a burst is never left without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_appends_shares_notifies_and_the_last_one_still_wakes() {
    const INTERVAL: Duration = Duration::from_millis(200);
    const APPENDS: u64 = 60;
    let owner = TestStore::new().await;
    let config = es_postgres::PostgresConfig::new(crate::common::database_url())
        .with_schema_name(owner.schema().clone())
        .with_pool_size(2)
        .with_notify_interval(INTERVAL);
    let writer = es_postgres::PostgresStore::connect_with(config)
        .await
        .expect("connect the writer");
    let mut listener = sqlx::postgres::PgListener::connect(&crate::common::database_url())
        .await
        .expect("connect a listener");
    listener
        .listen(&format!("es_events_{}", owner.schema().as_str()))
        .await
        .expect("LISTEN");
    let reader = owner.second_handle().await;
    let mut subscription = Subscription::new(reader.clone(), Position::START)
        .with_poll_interval(Duration::from_secs(60));

    let s = StreamId::new(format!("burst-{}", Uuid::now_v7())).expect("stream id");
    let started = std::time::Instant::now();
    for version in 0..APPENDS {
        writer
            .append(
                &s,
                ExpectedVersion::Exact(version),
                vec![NewEvent::raw("Burst", serde_json::Value::Null)],
            )
            .await
            .expect("append");
    }
    let burst = started.elapsed();

    // The other instance sees the whole burst without its 60 s poll: the
    // NOTIFY after the last append was sent.
    tokio::time::timeout(PROMPT, async {
        loop {
            let event = subscription.next().await.expect("subscription");
            if event.version == APPENDS {
                break;
            }
        }
    })
    .await
    .expect("the last append of the burst wakes the other instance");

    // Count the NOTIFYs: none more than one per interval (plus the first,
    // sent at once, and the trailing one).
    let mut notifies = 0u32;
    while let Ok(received) = tokio::time::timeout(INTERVAL * 3, listener.recv()).await {
        received.expect("notification");
        notifies += 1;
    }
    let allowed = (burst.as_secs_f64() / INTERVAL.as_secs_f64()).floor() as u32 + 2;
    assert!(
        (1..=allowed).contains(&notifies),
        "{notifies} NOTIFYs for {APPENDS} appends in {burst:?} (at most {allowed} allowed)"
    );
    assert!(
        u64::from(notifies) < APPENDS,
        "{notifies} NOTIFYs for {APPENDS} appends: not coalesced"
    );
}
