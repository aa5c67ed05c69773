//! Tracing: the correlation id recorded with an event at append time is on
//! the relay's publish span and on the consumer's handling span, so one
//! request can be followed from the store through the broker.

use std::time::Duration;

use es_core::{EventStore, ExpectedVersion, Metadata, NewEvent, StreamId};
use uuid::Uuid;

use es_test_support::span_capture;

use crate::harness::{spawn_consumer, spawn_relay, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correlation_id_travels_from_the_append_to_the_consumer() {
    let spans = span_capture::spans();

    let h = Harness::new("tracing");
    let consumer = h.consumer().await;
    let relay = h.relay();
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);

    let correlation = Uuid::now_v7();
    let event = NewEvent::raw("BookingCreated", serde_json::json!({"slot": "A-1"}))
        .with_metadata(Metadata::default().with_correlation_id(correlation));
    h.store
        .append(
            &StreamId::new("booking-1").expect("id"),
            ExpectedVersion::NoStream,
            vec![event],
        )
        .await
        .expect("append");
    h.side.wait_for(1, Duration::from_secs(60)).await;

    let correlation = correlation.to_string();
    for name in ["es_amqp.relay.publish", "es_amqp.consume"] {
        assert!(
            !spans
                .named_with(name, "correlation_id", &correlation)
                .is_empty(),
            "the {name} span lacks the correlation id"
        );
    }
}
