//! End-to-end delivery against the real broker: the store's log relayed and
//! consumed exactly once — plainly, across a killed consumer, across a
//! killed and a stopped relay, and into a queue nobody consumes yet.

use std::time::{Duration, Instant};

use es_core::InMemoryProjectionStore;

use crate::harness::{
    append_events, confirmed_everything, spawn_consumer, spawn_relay, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(300);

/// 50,000 events appended, relayed and consumed; the consumer's state holds
/// exactly 50,000 distinct events, each applied once, each stream in
/// version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_events_are_relayed_and_consumed_exactly_once() {
    let h = Harness::new("plain");
    let consumer = h.consumer().await;
    let relay = h.relay();

    let (ids, last) = append_events(&h.store, "order", 100, 50_000, 10).await;
    let started = Instant::now();
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);

    confirmed_everything(&relay, last).await;
    let relayed = started.elapsed();
    h.side.wait_for(ids.len(), TIMEOUT).await;
    let consumed = started.elapsed();
    let mut saved = relay.saved();
    within(
        TIMEOUT,
        "the relay checkpoint to reach the end",
        saved.wait_for(|p| *p >= last),
    )
    .await
    .expect("relay alive");
    eprintln!(
        "50,000 events: relayed in {relayed:?} ({:.0}/s), consumed in {consumed:?} ({:.0}/s)",
        ids.len() as f64 / relayed.as_secs_f64(),
        ids.len() as f64 / consumed.as_secs_f64()
    );

    h.side.assert_exactly_once(&ids);
    h.side.assert_in_stream_order();
    assert_eq!(consumer.stats().dead_lettered(), 0);
}

/// The consumer task killed mid-stream (twice) and started again: it
/// resumes; 0 lost, 0 applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_consumer_resumes_without_loss_or_double_application() {
    let h = Harness::new("killed");
    let prefetch = std::env::var("PREFETCH")
        .map(|p| p.parse().expect("PREFETCH is a number"))
        .unwrap_or(200);
    let consumer = h
        .declared_consumer(h.consumer_config().with_prefetch(prefetch), None, 0)
        .await;
    let relay = h.relay();

    let (ids, last) = append_events(&h.store, "order", 50, 20_000, 10).await;
    let _relay_task = spawn_relay(&relay);
    for kill_at in [3_000, 9_000] {
        let task = spawn_consumer(&consumer);
        h.side.wait_for(kill_at, TIMEOUT).await;
        assert!(task.kill().await, "the consumer stopped by itself");
        let applied = *h.side.progress.borrow();
        eprintln!("consumer killed at {applied} applied");
        assert!(
            applied < ids.len(),
            "the consumer finished before it was killed"
        );
    }
    let _consumer_task = spawn_consumer(&consumer);
    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
}

/// Events appended while no consumer runs wait in the durable queue and are
/// delivered when the consumer starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_appended_while_no_consumer_runs_are_delivered_when_it_starts() {
    let h = Harness::new("offline");
    // Only the topology: nobody consumes.
    let consumer = h.consumer().await;
    let relay = h.relay();
    let _relay_task = spawn_relay(&relay);

    let (ids, last) = append_events(&h.store, "order", 10, 1_000, 5).await;
    confirmed_everything(&relay, last).await;
    // The broker confirmed the publishes into the durable queue; nothing
    // consumed them.
    assert_eq!(*h.side.progress.borrow(), 0);

    let _consumer_task = spawn_consumer(&consumer);
    h.side.wait_for(ids.len(), TIMEOUT).await;
    h.side.assert_exactly_once(&ids);
}

/// A relay killed mid-stream restarts from its saved checkpoint: the events
/// after it are published again (duplicates the consumer dedupes), none is
/// lost. A relay stopped with `run_until` saves everything it confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_relay_resumes_from_its_checkpoint_and_a_stopped_one_saves_it() {
    let h = Harness::new("relay-restart");
    let consumer = h.consumer().await;
    let checkpoints = InMemoryProjectionStore::<()>::new();
    let (ids, last) = append_events(&h.store, "order", 20, 10_000, 10).await;
    let _consumer_task = spawn_consumer(&consumer);

    // Killed: aborted after 3,000 confirms.
    let relay = h.relay_with(checkpoints.clone(), h.relay_config());
    let task = spawn_relay(&relay);
    let mut confirmed = relay.confirmed();
    within(
        TIMEOUT,
        "3,000 confirms",
        confirmed.wait_for(|p| p.sequence >= 3_000),
    )
    .await
    .expect("relay alive");
    task.kill().await;

    // Stopped: `run_until` returns once asked to, with its checkpoint saved.
    let relay = h.relay_with(checkpoints.clone(), h.relay_config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = crate::harness::spawn({
        let relay = relay.clone();
        async move {
            relay
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let mut confirmed = relay.confirmed();
    within(
        TIMEOUT,
        "6,000 confirms",
        confirmed.wait_for(|p| p.sequence >= 6_000),
    )
    .await
    .expect("relay alive");
    stop.send(()).expect("relay running");
    within(TIMEOUT, "the relay to stop", task.join())
        .await
        .expect("stopped cleanly");
    let saved = *relay.saved().borrow();
    assert_eq!(
        saved,
        *relay.confirmed().borrow(),
        "run_until saves what it confirmed"
    );
    assert!(saved.sequence >= 6_000 && saved < last);

    // And a third relay finishes the job.
    let relay = h.relay_with(checkpoints.clone(), h.relay_config());
    let _relay_task = spawn_relay(&relay);
    confirmed_everything(&relay, last).await;
    h.side.wait_for(ids.len(), TIMEOUT).await;
    h.side.assert_exactly_once(&ids);
    assert_eq!(h.side.state.state().out_of_order, 0);
}
