//! Tracing: the correlation id recorded with an event at append time is on
//! the relay's publish span and on the consumer's handling span, so one
//! request can be followed from the store through the broker.

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use es_core::{EventStore, ExpectedVersion, Metadata, NewEvent, StreamId};
use tracing::{
    field::{Field, Visit},
    span, Event, Metadata as TracingMetadata, Subscriber,
};
use uuid::Uuid;

use crate::harness::{spawn_consumer, spawn_relay, Harness};

/// Records (span name, correlation_id) of every span created.
#[derive(Default)]
struct Spans {
    next: AtomicU64,
    seen: Mutex<Vec<(String, String)>>,
}

struct Correlation(Option<String>);

impl Visit for Correlation {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "correlation_id" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &TracingMetadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &span::Attributes<'_>) -> span::Id {
        let mut correlation = Correlation(None);
        attributes.record(&mut correlation);
        if let Some(id) = correlation.0 {
            self.0
                .seen
                .lock()
                .expect("lock")
                .push((attributes.metadata().name().to_owned(), id));
        }
        span::Id::from_u64(self.0.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

struct Collector(Arc<Spans>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correlation_id_travels_from_the_append_to_the_consumer() {
    let spans = Arc::new(Spans::default());
    tracing::subscriber::set_global_default(Collector(spans.clone())).expect("one subscriber");

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

    let seen = spans.seen.lock().expect("lock").clone();
    let with = |name: &str| {
        seen.iter()
            .any(|(span, id)| span == name && *id == correlation.to_string())
    };
    assert!(
        with("es_amqp.relay.publish"),
        "relay span lacks the correlation id: {seen:?}"
    );
    assert!(
        with("es_amqp.consume"),
        "consumer span lacks the correlation id: {seen:?}"
    );
}
