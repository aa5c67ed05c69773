//! Live wake-ups across store instances (as across processes): a subscriber
//! whose safety-net poll is a minute away still wakes promptly on another
//! instance's append, also after its LISTEN connection was killed.

mod common;

use std::time::Duration;

use common::TestStore;
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
