//! A handler that fails for a while on one event is retried in place: the
//! event is applied once it succeeds, and no later event of its stream (nor
//! any other) overtakes it.

mod common;

use std::time::Duration;

use common::{append_events, within, ConsumerSide, Names};
use es_amqp::{Backoff, Relay};
use es_core::{InMemoryProjectionStore, InMemoryStore};

const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_not_overtaken_by_later_events_of_its_stream() {
    let names = Names::new("retry");
    let store = InMemoryStore::new();
    // 3 streams, 10-event batches: the stream of event 31 has 9 more events
    // right behind it in the queue, all prefetched while it fails.
    let (ids, last) = append_events(&store, "order", 3, 300, 10).await;
    let flaky = ids[30];

    let side = ConsumerSide::new();
    let config = names.consumer_config().with_retries(
        5,
        Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
    );
    let consumer = side.flaky_consumer(config, Some(flaky), 3);
    consumer.declare().await.expect("declare");
    let relay = Relay::new(
        store.clone(),
        InMemoryProjectionStore::<()>::new(),
        names.relay_config(),
    );
    let relay_task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    within(TIMEOUT, "the relay", relay.wait_for_confirmed(last)).await;

    let consumer_task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    side.wait_for(ids.len(), TIMEOUT).await;
    side.assert_exactly_once(&ids);
    let state = side.state.state();
    assert_eq!(
        state.out_of_order, 0,
        "a later event overtook the retried one"
    );
    assert_eq!(state.gaps, 0);
    assert_eq!(consumer.stats().retried(), 3);
    assert_eq!(consumer.stats().dead_lettered(), 0);
    relay_task.abort();
    consumer_task.abort();
}
