//! Network faults between the relay / consumer and the broker, injected by a
//! [`FaultProxy`](es_test_support::FaultProxy) in front of RabbitMQ (the
//! broker itself and other programs' connections are never touched): every
//! connection cut mid-stream, reconnects refused for a while, a handshake
//! that never finishes (bounded by the connect timeout), a half-open link
//! that the AMQP heartbeat notices, and one that an idle consumer notices
//! by asking the broker, long before the heartbeat would. In each case nothing is lost and
//! nothing is applied twice.

use std::time::Duration;

use es_core::InMemoryProjectionStore;

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

/// A connection whose handshake never finishes (the link carries no bytes
/// from the start, so no heartbeat is ever negotiated) is abandoned after
/// the connect timeout and tried again, by the relay and by the consumer;
/// once the link flows, everything is delivered exactly once. Without the
/// bound, both would wait in their first attempt for good (lapin's connect
/// has no timeout of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_finishes_is_abandoned_and_retried() {
    const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
    let h = Harness::via_proxy("stalled-handshake", None);
    let consumer = h
        .declared_consumer(
            h.consumer_config().with_connect_timeout(CONNECT_TIMEOUT),
            None,
            0,
        )
        .await;
    let relay = h.relay_with(
        InMemoryProjectionStore::<()>::new(),
        h.relay_config().with_connect_timeout(CONNECT_TIMEOUT),
    );
    let (ids, last) = append_events(&h.store, "order", 10, 500, 10).await;
    let proxy = h.proxy();
    proxy.hold(true);
    let accepted = proxy.accepted_connections();
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);
    // Each side gives up on its stalled handshake and connects again: at
    // least three attempts each.
    within(
        Duration::from_secs(30),
        "both sides to abandon stalled handshakes and try again",
        async {
            while proxy.accepted_connections() < accepted + 6 || consumer.stats().reconnects() < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    assert_eq!(
        *h.side.progress.borrow(),
        0,
        "nothing can arrive while held"
    );
    proxy.hold(false);

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
}

/// An idle consumer on a link that went dead without a word (nothing
/// closes, and the broker's 60 s heartbeat is far off) notices by asking the
/// broker about its queue after `request_timeout` without a delivery; the
/// question goes unanswered, so it reconnects, and once the link flows it
/// gets what was published meanwhile, exactly once. This check is what
/// catches a connection whose end lapin missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_consumer_notices_a_dead_link_long_before_the_heartbeat() {
    const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
    let h = Harness::via_proxy("idle-dead-link", None);
    let consumer = h
        .declared_consumer(
            h.consumer_config()
                .with_request_timeout(REQUEST_TIMEOUT)
                .with_connect_timeout(REQUEST_TIMEOUT),
            None,
            0,
        )
        .await;
    let _consumer_task = spawn_consumer(&consumer);
    let proxy = h.proxy();
    within(Duration::from_secs(30), "the consumer to connect", async {
        while proxy.open_connections() < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let reconnects = consumer.stats().reconnects();
    proxy.hold(true);
    within(
        Duration::from_secs(30),
        "the idle consumer to notice the dead link and reconnect",
        async {
            while consumer.stats().reconnects() < reconnects + 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    proxy.hold(false);

    // Published while the consumer was away: delivered once it is back.
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "order", 10, 200, 10).await;
    let _relay_task = spawn_relay(&relay);
    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
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
