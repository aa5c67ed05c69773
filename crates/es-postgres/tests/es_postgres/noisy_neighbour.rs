//! A noisy neighbour stalls nothing: while another database of the server
//! holds a write transaction open (running, or a leaked idle-in-transaction
//! session), a read right after an append sees it, a live subscriber
//! receives each append promptly, and a projection catches up to every
//! event. The log's horizon passes the neighbour's transaction.

use std::time::{Duration, Instant};

use crate::common::{database_url, Counter, TestStore};
use es_core::{
    testing::conformance::CountingProjection, EventStore, ExpectedVersion, NewEvent, Position,
    ProjectionRunner, StreamId, Subscription,
};
use es_test_support::NoisyNeighbour;
use uuid::Uuid;

/// How long a reader may take to show an append beside the neighbour (a
/// generous bound: without the neighbour it is milliseconds; a reader that
/// waited for the neighbour would wait for its whole transaction).
const PROMPT: Duration = Duration::from_secs(2);

/// How many appends each scenario makes.
const APPENDS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_do_not_wait_for_a_write_transaction_in_another_database() {
    let neighbour = NoisyNeighbour::busy_write(&database_url(), Duration::from_secs(60));
    readers_stay_prompt_beside(&neighbour).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_do_not_wait_for_a_leaked_idle_in_transaction_session() {
    let neighbour = NoisyNeighbour::idle_in_transaction(&database_url());
    readers_stay_prompt_beside(&neighbour).await;
}

async fn readers_stay_prompt_beside(neighbour: &NoisyNeighbour) {
    let store = TestStore::new().await;
    assert!(
        store.store.horizon().await.expect("horizon") > neighbour.transaction_id(),
        "the log's horizon waits for the neighbour"
    );
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_poll_interval(Duration::from_millis(100));
    let s = StreamId::new(format!("beside-{}", Uuid::now_v7())).expect("stream id");
    let mut after = Position::START;
    for version in 0..APPENDS {
        let appended_at = Instant::now();
        let outcome = store
            .append(
                &s,
                ExpectedVersion::Exact(version),
                vec![NewEvent::raw(
                    "Happened",
                    serde_json::json!({ "v": version }),
                )],
            )
            .await
            .expect("append");
        let page = store.read_all(after, 10).await.expect("read_all");
        assert_eq!(
            page.iter().map(|e| e.version).collect::<Vec<_>>(),
            vec![version + 1],
            "a read right after append {version} misses it beside the neighbour"
        );
        after = outcome.last_position.expect("position");
        let received = tokio::time::timeout(PROMPT, subscription.next())
            .await
            .unwrap_or_else(|_| panic!("the live subscriber waited for the neighbour ({version})"))
            .expect("subscription");
        assert_eq!(received.version, version + 1);
        assert!(appended_at.elapsed() <= PROMPT);
    }

    let checkpoints = store.store.checkpoints();
    checkpoints.migrate().await.expect("migrate checkpoints");
    let counter = Counter::new(checkpoints.clone()).await;
    let runner =
        ProjectionRunner::new(store.clone(), checkpoints, counter.clone()).expect("projection");
    let started = Instant::now();
    let reached = tokio::time::timeout(PROMPT, runner.catch_up())
        .await
        .expect("the projection waited for the neighbour")
        .expect("catch up");
    assert_eq!(reached, after, "the projection reached the last append");
    assert!(started.elapsed() <= PROMPT);
    let applied = counter.applied().await;
    assert_eq!(applied.len() as u64, APPENDS);
    assert!(applied.values().all(|&n| n == 1));

    assert!(
        neighbour.is_open(),
        "the neighbour's transaction stayed open throughout"
    );
}
