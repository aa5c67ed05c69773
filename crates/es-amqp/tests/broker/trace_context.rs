//! The W3C trace context: an event appended with a `traceparent` in its
//! metadata is published with the AMQP `traceparent` header, and the
//! consumer's `es_amqp.consume` span records the same trace id and parent id
//! while the handler sees the context on the event's metadata. A malformed
//! `traceparent` on an incoming message is ignored: the event is handled,
//! not dead-lettered.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use es_amqp::{lapin::types::AMQPValue, wire, Consumer, Handler};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent,
    StreamId, TraceContext,
};
use es_test_support::span_capture;
use uuid::Uuid;

use crate::harness::{
    confirming_channel, publish_routed, spawn_consumer, spawn_relay, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A handler that keeps every event it was handed.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<RecordedEvent>>>);

#[async_trait]
impl Handler for Seen {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.0.lock().expect("lock").push(event.clone());
        Ok(())
    }
}

impl Seen {
    async fn wait_for(&self, event_id: Uuid) -> RecordedEvent {
        within(TIMEOUT, "the consumer to handle the event", async {
            loop {
                let found = self
                    .0
                    .lock()
                    .expect("lock")
                    .iter()
                    .find(|event| event.event_id == event_id)
                    .cloned();
                match found {
                    Some(event) => return event,
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
        .await
    }
}

async fn consumer(h: &Harness) -> (Consumer<Seen>, Seen) {
    let seen = Seen::default();
    let consumer = Consumer::new(
        h.consumer_config().build().expect("valid consumer config"),
        seen.clone(),
    );
    within(TIMEOUT, "the queue to be declared", consumer.declare())
        .await
        .expect("declare");
    (consumer, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_context_travels_from_the_append_to_the_consumer_span() {
    let spans = span_capture::spans();
    let h = Harness::new("trace-context");
    let (consumer, seen) = consumer(&h).await;
    let _relay_task = spawn_relay(&h.relay());
    let _consumer_task = spawn_consumer(&consumer);

    let context = TraceContext::new_root();
    let event = NewEvent::raw("BookingCreated", serde_json::json!({"slot": "A-1"}))
        .with_metadata(Metadata::default().with_trace_context(context));
    let event_id = event.event_id;
    h.store
        .append(
            &StreamId::new(format!("booking-{}", Uuid::now_v7())).expect("id"),
            ExpectedVersion::NoStream,
            vec![event],
        )
        .await
        .expect("append");

    let handled = seen.wait_for(event_id).await;
    assert_eq!(
        handled.metadata.trace_context,
        Some(context),
        "the handler sees the command's trace context"
    );
    let trace_id = context.trace_id_hex();
    let published = spans.named_with("es_amqp.relay.publish", "trace_id", &trace_id);
    assert_eq!(published.len(), 1, "one publish span in the trace");
    let consumed = spans.named_with("es_amqp.consume", "trace_id", &trace_id);
    assert_eq!(consumed.len(), 1, "one consume span joins the trace");
    let fields = &consumed[0].fields;
    assert_eq!(
        fields.get("parent_id"),
        Some(&context.parent_id_hex()),
        "{fields:?}"
    );
    assert_eq!(fields.get("event_id"), Some(&event_id.to_string()));
    assert_eq!(fields.get("version").map(String::as_str), Some("1"));
    assert_eq!(consumer.stats().dead_lettered(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_traceparent_is_ignored_and_the_event_handled() {
    let spans = span_capture::spans();
    let h = Harness::new("bad-traceparent");
    let (consumer, seen) = consumer(&h).await;
    let _consumer_task = spawn_consumer(&consumer);

    // A well-formed event whose traceparent header is hostile, published
    // straight to the exchange (as a foreign producer could).
    h.store
        .append(
            &StreamId::new(format!("booking-{}", Uuid::now_v7())).expect("id"),
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("BookingCreated", serde_json::json!({}))],
        )
        .await
        .expect("append");
    let (body, properties) = wire::encode(&h.store_event(0).await).expect("encodes");
    let (connection, channel) = confirming_channel().await;
    let hostile = [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "not a traceparent at all",
    ];
    let mut ids = Vec::new();
    for value in hostile {
        let id = Uuid::now_v7();
        let mut headers = properties.headers().clone().expect("headers");
        headers.insert(
            wire::HEADER_TRACEPARENT.into(),
            AMQPValue::LongString(value.into()),
        );
        publish_routed(
            &channel,
            &h.names.exchange,
            "booking.BookingCreated",
            &body,
            properties
                .clone()
                .with_headers(headers)
                .with_message_id(id.to_string().into()),
        )
        .await;
        ids.push(id);
    }
    for id in &ids {
        let handled = seen.wait_for(*id).await;
        assert_eq!(handled.metadata.trace_context, None);
    }
    // The counters move after the acknowledgement, just after the handler.
    within(TIMEOUT, "every message to be acknowledged", async {
        while consumer.stats().handled() + consumer.stats().dead_lettered() < ids.len() as u64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(consumer.stats().dead_lettered(), 0, "never dead-lettered");
    assert_eq!(consumer.stats().handled(), hostile.len() as u64);
    for id in &ids {
        let consumed = spans.named_with("es_amqp.consume", "event_id", &id.to_string());
        assert_eq!(consumed.len(), 1);
        assert!(
            !consumed[0].fields.contains_key("trace_id"),
            "no trace id from a malformed header: {:?}",
            consumed[0].fields
        );
    }
    let _ = connection.close(200, "done".into()).await;
}
