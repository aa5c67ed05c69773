//! A handler that fails for a while on one event is retried in place: the
//! event is applied once it succeeds, and no later event of its stream (nor
//! any other) overtakes it.

use std::time::Duration;

use es_amqp::Backoff;

use crate::harness::{append_events, spawn_consumer, spawn_relay, within, Harness};

const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_not_overtaken_by_later_events_of_its_stream() {
    let h = Harness::new("retry");
    // 3 streams, 10-event batches: the stream of event 31 has 9 more events
    // right behind it in the queue, all prefetched while it fails.
    let (ids, last) = append_events(&h.store, "order", 3, 300, 10).await;
    let flaky = ids[30];

    let config = h.consumer_config().with_retries(
        5,
        Backoff::new(Duration::from_millis(20), Duration::from_millis(100)).expect("backoff"),
    );
    let consumer = h.declared_consumer(config, Some(flaky), 3).await;
    let relay = h.relay();
    let _relay_task = spawn_relay(&relay);
    within(TIMEOUT, "the relay", relay.wait_for_confirmed(last)).await;

    let _consumer_task = spawn_consumer(&consumer);
    h.side.wait_for(ids.len(), TIMEOUT).await;
    h.side.assert_exactly_once(&ids);
    let state = h.side.state.state();
    assert_eq!(
        state.out_of_order, 0,
        "a later event overtook the retried one"
    );
    assert_eq!(state.gaps, 0);
    assert_eq!(consumer.stats().retried(), 3);
    assert_eq!(consumer.stats().dead_lettered(), 0);
}
