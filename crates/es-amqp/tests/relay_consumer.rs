//! End-to-end delivery against the real broker: the store's log relayed and
//! consumed exactly once — plainly, across forced connection closes, across
//! a killed consumer, and into a queue nobody consumes yet.

mod common;

use std::time::{Duration, Instant};

use common::{append_events, close_connections, within, ConsumerSide, Names};
use es_amqp::Relay;
use es_core::{InMemoryProjectionStore, InMemoryStore};

const TIMEOUT: Duration = Duration::from_secs(300);

/// Acceptance 1: 50,000 events appended, relayed and consumed; the consumer's
/// state holds exactly 50,000 distinct events, each applied once, each
/// stream in version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_events_are_relayed_and_consumed_exactly_once() {
    let names = Names::new("plain");
    let store = InMemoryStore::new();
    let side = ConsumerSide::new();
    let consumer = side.consumer(names.consumer_config(), None);
    consumer.declare().await.expect("declare the queue");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );

    let (ids, last) = append_events(&store, "order", 100, 50_000, 10).await;
    let started = Instant::now();
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    let consumer_task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });

    within(
        TIMEOUT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
    let relayed = started.elapsed();
    side.wait_for(ids.len(), TIMEOUT).await;
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

    side.assert_exactly_once(&ids);
    let state = side.state.state();
    assert_eq!(
        state.out_of_order, 0,
        "a stream's events arrived out of order"
    );
    assert_eq!(state.gaps, 0, "a stream's events skipped a version");
    assert_eq!(consumer.stats().dead_lettered(), 0);
    relay_task.abort();
    consumer_task.abort();
}

/// Acceptance 2: the same while the broker closes the relay's and the
/// consumer's connections 5 times mid-stream: 0 lost, 0 applied twice.
///
/// The 50,000 events are appended in 6 chunks; each close happens once the
/// consumer is 500 events into a fresh chunk, so both sides are busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_five_times_lose_nothing_and_apply_nothing_twice() {
    let names = Names::new("closed");
    let store = InMemoryStore::new();
    let side = ConsumerSide::new();
    let consumer = side.consumer(names.consumer_config(), None);
    consumer.declare().await.expect("declare the queue");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );

    const CHUNK: usize = 8_000;
    let (mut ids, mut last) = append_events(&store, "order", 100, CHUNK, 10).await;
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    let consumer_task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });

    let mut closed_total = 0;
    let mut relay_hit_mid_stream = 0;
    for round in 0..5 {
        side.wait_for(ids.len() - CHUNK + 500, TIMEOUT).await;
        let applied = *side.progress.borrow();
        let relay_mid_stream = *relay.confirmed().borrow() < last;
        assert!(
            applied < ids.len(),
            "the consumer finished the chunk before the close"
        );
        let closed = tokio::task::spawn_blocking({
            let suffix = names.suffix.clone();
            move || close_connections(&suffix)
        })
        .await
        .expect("rabbitmqctl");
        eprintln!("close {round}: {closed} connection(s) at {applied} applied; relay mid-stream: {relay_mid_stream}");
        assert!(closed >= 1, "no connection of this test was open to close");
        closed_total += closed;
        relay_hit_mid_stream += usize::from(relay_mid_stream);
        let size = if round == 4 {
            50_000 - ids.len()
        } else {
            CHUNK
        };
        let (more, end) = append_events(&store, "order", 100, size, 10).await;
        ids.extend(more);
        last = end;
    }
    assert_eq!(ids.len(), 50_000);
    within(
        TIMEOUT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
    side.wait_for(ids.len(), TIMEOUT).await;

    side.assert_exactly_once(&ids);
    let state = side.state.state();
    assert_eq!(
        state.out_of_order, 0,
        "a stream's events were applied out of order"
    );
    assert_eq!(state.gaps, 0, "a stream's events skipped a version");
    assert!(
        consumer.stats().reconnects() >= 5,
        "the consumer did not reconnect 5 times"
    );
    assert!(
        relay_hit_mid_stream >= 1,
        "the relay was never cut off mid-stream"
    );
    eprintln!("closed {closed_total} connections; relay cut off mid-stream {relay_hit_mid_stream} time(s)");
    relay_task.abort();
    consumer_task.abort();
}

/// Acceptance 3: the consumer task killed mid-stream (twice) and started
/// again: it resumes; 0 lost, 0 applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_consumer_resumes_without_loss_or_double_application() {
    let names = Names::new("killed");
    let store = InMemoryStore::new();
    let side = ConsumerSide::new();
    let consumer = side.consumer(
        names.consumer_config().with_prefetch(
            std::env::var("PREFETCH")
                .map(|p| p.parse().unwrap())
                .unwrap_or(200),
        ),
        None,
    );
    consumer.declare().await.expect("declare the queue");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );

    let (ids, last) = append_events(&store, "order", 50, 20_000, 10).await;
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    for kill_at in [3_000, 9_000] {
        let task = tokio::spawn({
            let consumer = consumer.clone();
            async move { consumer.run().await }
        });
        side.wait_for(kill_at, TIMEOUT).await;
        task.abort();
        assert!(task.await.expect_err("aborted").is_cancelled());
        let applied = *side.progress.borrow();
        eprintln!("consumer killed at {applied} applied");
        assert!(
            applied < ids.len(),
            "the consumer finished before it was killed"
        );
    }
    let task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    within(
        TIMEOUT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
    side.wait_for(ids.len(), TIMEOUT).await;

    side.assert_exactly_once(&ids);
    let state = side.state.state();
    assert_eq!(
        state.out_of_order, 0,
        "a stream's events were applied out of order"
    );
    assert_eq!(state.gaps, 0, "a stream's events skipped a version");
    relay_task.abort();
    task.abort();
}

/// Acceptance 6: events appended while no consumer runs wait in the durable
/// queue and are delivered when the consumer starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_appended_while_no_consumer_runs_are_delivered_when_it_starts() {
    let names = Names::new("offline");
    let store = InMemoryStore::new();
    let side = ConsumerSide::new();
    let consumer = side.consumer(names.consumer_config(), None);
    // Only the topology: nobody consumes.
    consumer.declare().await.expect("declare the queue");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });

    let (ids, last) = append_events(&store, "order", 10, 1_000, 5).await;
    within(
        TIMEOUT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
    // The broker confirmed the publishes into the durable queue; nothing
    // consumed them.
    assert_eq!(*side.progress.borrow(), 0);

    let task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    side.wait_for(ids.len(), TIMEOUT).await;
    side.assert_exactly_once(&ids);
    relay_task.abort();
    task.abort();
}

/// A relay killed mid-stream restarts from its saved checkpoint: the events
/// after it are published again (duplicates the consumer dedupes), none is
/// lost. A relay stopped with `run_until` saves everything it confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_relay_resumes_from_its_checkpoint_and_a_stopped_one_saves_it() {
    let names = Names::new("relay-restart");
    let store = InMemoryStore::new();
    let side = ConsumerSide::new();
    let consumer = side.consumer(names.consumer_config(), None);
    consumer.declare().await.expect("declare the queue");
    let checkpoints = InMemoryProjectionStore::<()>::new();
    let (ids, last) = append_events(&store, "order", 20, 10_000, 10).await;
    let consumer_task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });

    // Killed: aborted after 3,000 confirms.
    let relay = Relay::new(store.clone(), checkpoints.clone(), names.relay_config());
    let task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    let mut confirmed = relay.confirmed();
    within(
        TIMEOUT,
        "3,000 confirms",
        confirmed.wait_for(|p| p.sequence >= 3_000),
    )
    .await
    .expect("relay alive");
    task.abort();
    let _ = task.await;

    // Stopped: `run_until` returns once asked to, with its checkpoint saved.
    let relay = Relay::new(store.clone(), checkpoints.clone(), names.relay_config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn({
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
    within(TIMEOUT, "the relay to stop", task)
        .await
        .expect("joined")
        .expect("stopped cleanly");
    let saved = *relay.saved().borrow();
    assert_eq!(
        saved,
        *relay.confirmed().borrow(),
        "run_until saves what it confirmed"
    );
    assert!(saved.sequence >= 6_000 && saved < last);

    // And a third relay finishes the job.
    let relay = Relay::new(store.clone(), checkpoints.clone(), names.relay_config());
    let task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    within(
        TIMEOUT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
    side.wait_for(ids.len(), TIMEOUT).await;
    side.assert_exactly_once(&ids);
    assert_eq!(side.state.state().out_of_order, 0);
    task.abort();
    consumer_task.abort();
}
