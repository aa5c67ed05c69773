//! The relay at the edges of what the broker takes, and numbers through it.
//!
//! An event whose routing key is over 255 bytes, or whose headers do not fit
//! a frame (events written before the store refused such input, say, in a
//! restored database), can never be published: the relay must not reconnect
//! and republish forever. It stops right before the event with an error
//! naming it, or parks it and goes on, as configured. And a payload of hard
//! floats and big integers comes out of the consumer exactly as it went in.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use es_amqp::{
    lapin::{
        options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions},
        types::FieldTable,
        Connection, ConnectionProperties, ExchangeKind,
    },
    Consumer, Handler, RelayCheckpoint, RelayError, RoutingKey, Unpublishable, UnpublishablePolicy,
};
use es_core::{
    async_trait, AppendOutcome, BoxError, EventStore, ExpectedVersion, InMemoryProjectionStore,
    InMemoryStore, Metadata, NewEvent, Position, RecordedEvent, StoreError, StreamId,
};
use futures::{stream::BoxStream, StreamExt};
use tokio::sync::watch;
use uuid::Uuid;

use crate::harness::{
    amqp_url, append_events, confirmed_everything, spawn_consumer, spawn_relay, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A store restored from a backup taken before the store refused oversized
/// input: the event `inflated` carries `extra` metadata the store would now
/// refuse at append.
#[derive(Clone)]
struct RestoredStore {
    inner: InMemoryStore,
    inflated: Uuid,
    extra: serde_json::Value,
}

impl RestoredStore {
    fn restore(&self, mut event: RecordedEvent) -> RecordedEvent {
        if event.event_id == self.inflated {
            event.metadata.extra = Some(self.extra.clone());
        }
        event
    }
}

#[async_trait]
impl EventStore for RestoredStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner.append(stream_id, expected, events).await
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        self.inner
            .read_stream(stream_id, from_version)
            .map(|event| event.map(|e| self.restore(e)))
            .boxed()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let page = self.inner.read_all(after, limit).await?;
        Ok(page.into_iter().map(|e| self.restore(e)).collect())
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        self.inner.stream_version(stream_id).await
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.inner.append_notifications()
    }
}

/// The position of every event, by id.
async fn position_of(store: &InMemoryStore, id: Uuid) -> Position {
    store
        .read_all(Position::START, 10_000)
        .await
        .expect("read")
        .into_iter()
        .find(|e| e.event_id == id)
        .expect("in the log")
        .position
}

/// Declares the parking queue bound to the parking exchange.
async fn declare_parking(h: &Harness) -> Connection {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .exchange_declare(
            h.names.parking_exchange.as_str().into(),
            ExchangeKind::Fanout,
            es_amqp::lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare the parking exchange");
    channel
        .queue_declare(
            h.names.parking_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare the parking queue");
    channel
        .queue_bind(
            h.names.parking_queue.as_str().into(),
            h.names.parking_exchange.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind the parking queue");
    connection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_key_over_255_bytes_stops_the_relay_right_before_the_event() {
    let h = Harness::new("long-key");
    let (ids, _) = append_events(&h.store, "order", 1, 10, 10).await;
    let long = ids[4];
    let consumer = h.consumer().await;
    let _consumer_task = spawn_consumer(&consumer);
    let checkpoints = InMemoryProjectionStore::<()>::new();
    let config = h
        .relay_config()
        .with_routing_key(RoutingKey::new(move |event| {
            if event.event_id == long {
                "k".repeat(300)
            } else {
                "order.Happened".to_owned()
            }
        }));
    let relay = h.relay_with(checkpoints.clone(), config);
    let before = position_of(&h.store, ids[3]).await;

    // Every run stops at once, at the same place: no reconnect-and-retry.
    for run in 0..3 {
        let error = within(TIMEOUT, "the relay to stop", relay.run())
            .await
            .expect_err("the relay stops");
        match &error {
            RelayError::Unpublishable {
                event_id,
                stream_id,
                version,
                position,
                reason:
                    Unpublishable::RoutingKeyTooLong {
                        len: 300,
                        limit: 255,
                    },
            } => {
                assert_eq!(*event_id, long);
                assert_eq!(stream_id, "order-0");
                assert_eq!(*version, 5);
                assert_eq!(*position, position_of(&h.store, long).await);
            }
            other => panic!("run {run}: expected a too-long routing key, got {other}"),
        }
        assert!(!error.is_transient());
        let text = error.to_string();
        assert!(
            text.contains(&long.to_string()) && text.contains("order-0"),
            "{text}"
        );
        assert_eq!(
            checkpoints.load(relay.config().name()).await.expect("load"),
            before,
            "run {run}: the checkpoint stops right before the event"
        );
    }
    h.side.wait_for(4, TIMEOUT).await;
    h.side.assert_exactly_once(&ids[..4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_larger_than_a_frame_stop_the_relay_or_are_parked() {
    let h = Harness::new("huge-headers");
    let (ids, last) = append_events(&h.store, "order", 2, 20, 5).await;
    let huge = ids[7];
    let store = RestoredStore {
        inner: h.store.clone(),
        inflated: huge,
        extra: serde_json::json!({ "blob": "x".repeat(200_000) }),
    };
    let consumer = h.consumer().await;
    let _consumer_task = spawn_consumer(&consumer);
    let parking = declare_parking(&h).await;
    let checkpoints = InMemoryProjectionStore::<()>::new();

    // Stop (the default): an error naming the event, the checkpoint before it.
    let relay = es_amqp::Relay::new(
        store.clone(),
        checkpoints.clone(),
        h.relay_config().build().expect("config"),
    );
    let error = within(TIMEOUT, "the relay to stop", relay.run())
        .await
        .expect_err("the relay stops");
    match &error {
        RelayError::Unpublishable {
            event_id,
            reason: Unpublishable::HeadersTooLarge { len, frame_max },
            ..
        } => {
            assert_eq!(*event_id, huge);
            assert!(len > frame_max, "{error}");
        }
        other => panic!("expected headers too large, got {other}"),
    }
    let before = position_of(&h.store, ids[6]).await;
    assert_eq!(
        checkpoints.load(relay.config().name()).await.expect("load"),
        before
    );

    // Park: the event goes to the parking exchange whole, the rest flows on.
    let relay = es_amqp::Relay::new(
        store,
        checkpoints.clone(),
        h.relay_config()
            .with_unpublishable(UnpublishablePolicy::Park {
                exchange: h.names.parking_exchange.clone(),
            })
            .build()
            .expect("config"),
    );
    let _relay_task = spawn_relay(&relay);
    confirmed_everything(&relay, last).await;
    let delivered: Vec<Uuid> = ids.iter().copied().filter(|id| *id != huge).collect();
    h.side.wait_for(delivered.len(), TIMEOUT).await;
    h.side.assert_exactly_once(&delivered);

    let channel = parking.create_channel().await.expect("channel");
    let parked = channel
        .basic_get(
            h.names.parking_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .expect("basic.get")
        .expect("the parked event");
    assert_eq!(
        parked
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string()),
        Some(huge.to_string())
    );
    let body: serde_json::Value =
        serde_json::from_slice(&parked.delivery.data).expect("a JSON body");
    assert_eq!(body["event"]["event_id"], huge.to_string());
    assert_eq!(
        body["event"]["metadata"]["extra"]["blob"]
            .as_str()
            .map(str::len),
        Some(200_000)
    );
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("frame_max")),
        "{}",
        body["reason"]
    );
    let _ = parking.close(200, "done".into()).await;
}

/// Collects every delivered event.
struct Collect {
    events: Mutex<Vec<RecordedEvent>>,
    progress: watch::Sender<usize>,
}

#[async_trait]
impl Handler for Collect {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        let mut events = self.events.lock().expect("lock");
        events.push(event.clone());
        self.progress.send_replace(events.len());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_numbers_come_out_of_the_consumer_exactly_as_they_went_in() {
    let h = Harness::new("numbers");
    let corpus: Vec<serde_json::Value> = vec![
        serde_json::json!(117.63331139400017),
        serde_json::json!(5e-324),
        serde_json::json!(2.2250738585072014e-308),
        serde_json::json!(1.7976931348623157e308),
        serde_json::json!(1e16),
        serde_json::json!(0.1),
        serde_json::json!(-0.0),
        serde_json::json!(0.30000000000000004),
        serde_json::json!(9007199254740993u64),
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MIN),
        serde_json::json!({"nested": [1.0000000000000002, 123456789.12345679, -1e-7]}),
    ];
    let collect = Arc::new(Collect {
        events: Mutex::new(Vec::new()),
        progress: watch::channel(0).0,
    });
    let consumer = Consumer::new(
        h.consumer_config().build().expect("config"),
        collect.clone(),
    );
    consumer.declare().await.expect("declare");
    let _consumer_task = spawn_consumer(&consumer);
    let relay = h.relay();
    let _relay_task = spawn_relay(&relay);

    let stream = StreamId::new("numbers-1").expect("id");
    let events: Vec<NewEvent> = corpus
        .iter()
        .map(|value| {
            NewEvent::raw("Measured", serde_json::json!({ "value": value })).with_metadata(
                Metadata {
                    extra: Some(serde_json::json!({ "value": value })),
                    ..Metadata::default()
                },
            )
        })
        .collect();
    h.store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    let mut progress = collect.progress.subscribe();
    within(
        TIMEOUT,
        "every event",
        progress.wait_for(|n| *n >= corpus.len()),
    )
    .await
    .expect("progress");

    let received = collect.events.lock().expect("lock").clone();
    assert_eq!(received.len(), corpus.len());
    for (event, value) in received.iter().zip(&corpus) {
        let expected = serde_json::json!({ "value": value });
        assert_eq!(event.payload, expected, "payload of {value}");
        assert_eq!(
            event.metadata.extra.as_ref(),
            Some(&expected),
            "metadata of {value}"
        );
        // Bit for bit, not just `==` (which equates 0.0 and -0.0).
        assert_eq!(event.payload.to_string(), expected.to_string());
    }
}
