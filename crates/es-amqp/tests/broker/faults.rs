//! Network faults between the relay / consumer and the broker, injected by a
//! [`FaultProxy`](es_test_support::FaultProxy) in front of RabbitMQ (the
//! broker itself and other programs' connections are never touched): every
//! connection cut mid-stream, reconnects refused for a while, and a
//! half-open link that only the AMQP heartbeat can notice. In each case
//! nothing is lost and nothing is applied twice.

use std::time::Duration;

use crate::harness::{
    append_events, confirmed_everything, spawn_consumer, spawn_relay, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(300);

/// Every connection cut 5 times mid-stream: 0 lost, 0 applied twice.
///
/// The 50,000 events are appended in 6 chunks; each cut happens once the
/// consumer is 500 events into a fresh chunk, so both sides are busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_five_times_lose_nothing_and_apply_nothing_twice() {
    let h = Harness::via_proxy("cut", None);
    let consumer = h.consumer().await;
    let relay = h.relay();

    const CHUNK: usize = 8_000;
    let (mut ids, mut last) = append_events(&h.store, "order", 100, CHUNK, 10).await;
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);

    let mut relay_hit_mid_stream = 0;
    for round in 0..5 {
        h.side.wait_for(ids.len() - CHUNK + 500, TIMEOUT).await;
        let applied = *h.side.progress.borrow();
        let relay_mid_stream = *relay.confirmed().borrow() < last;
        assert!(
            applied < ids.len(),
            "the consumer finished the chunk before the cut"
        );
        let open = h.proxy().open_connections();
        h.proxy().cut_all();
        eprintln!("cut {round}: {open} connection(s) at {applied} applied; relay mid-stream: {relay_mid_stream}");
        assert!(open >= 1, "no connection of this test was open to cut");
        relay_hit_mid_stream += usize::from(relay_mid_stream);
        let size = if round == 4 {
            50_000 - ids.len()
        } else {
            CHUNK
        };
        let (more, end) = append_events(&h.store, "order", 100, size, 10).await;
        ids.extend(more);
        last = end;
    }
    assert_eq!(ids.len(), 50_000);
    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
    assert!(
        consumer.stats().reconnects() >= 5,
        "the consumer did not reconnect 5 times"
    );
    assert!(
        relay_hit_mid_stream >= 1,
        "the relay was never cut off mid-stream"
    );
}

/// Connections cut while new ones are refused for a while: both sides keep
/// retrying (with backoff) and, once the broker is reachable again, deliver
/// everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_refused_for_a_while_are_ridden_out() {
    let h = Harness::via_proxy("refused", None);
    let consumer = h.consumer().await;
    let relay = h.relay();
    let (mut ids, _) = append_events(&h.store, "order", 10, 2_000, 10).await;
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);
    h.side.wait_for(500, TIMEOUT).await;

    let proxy = h.proxy();
    proxy.refuse_new(true);
    let accepted = proxy.accepted_connections();
    proxy.cut_all();
    // Events appended during the outage wait in the store.
    let (more, last) = append_events(&h.store, "order", 10, 2_000, 10).await;
    ids.extend(more);
    // Both sides try again, and again: at least 3 refused attempts.
    within(
        Duration::from_secs(30),
        "refused reconnect attempts",
        async {
            while proxy.accepted_connections() < accepted + 3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    let applied_while_refused = *h.side.progress.borrow();
    assert!(applied_while_refused < ids.len());
    proxy.refuse_new(false);

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
    assert!(consumer.stats().reconnects() >= 1);
}

/// A half-open link (bytes stop flowing, nothing closes) is noticed by the
/// AMQP heartbeat (1 s here, so within about 2 s) on both sides, which
/// reconnect; once the link flows again everything is delivered exactly
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_detected_by_the_heartbeat_and_ridden_out() {
    let h = Harness::via_proxy("half-open", Some(1));
    let consumer = h.consumer().await;
    let relay = h.relay();
    let (mut ids, _) = append_events(&h.store, "order", 10, 2_000, 10).await;
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);
    h.side.wait_for(500, TIMEOUT).await;

    let proxy = h.proxy();
    let accepted = proxy.accepted_connections();
    let reconnects = consumer.stats().reconnects();
    proxy.hold(true);
    // Appends during the hold give the relay something to wait on.
    let (more, last) = append_events(&h.store, "order", 10, 2_000, 10).await;
    ids.extend(more);
    // Nothing closes the held connections: only a missed heartbeat can end
    // them. Both sides must notice and open new ones (which hang, held too).
    within(
        Duration::from_secs(20),
        "both sides to notice the half-open link and reconnect",
        async {
            while proxy.accepted_connections() < accepted + 2
                || consumer.stats().reconnects() <= reconnects
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    proxy.hold(false);

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
}
