//! Relay throughput against raw lapin, and consume throughput.
//!
//! One iteration of `relay` = a [`Relay`] publishing 10,000 stored events
//! (from a fresh checkpoint) until the broker confirmed all of them —
//! connection, confirm mode and exchange declaration included. The baseline
//! in the same run, `raw_publish`, publishes the same 10,000 messages
//! (bodies and properties encoded before the clock starts) with raw lapin on
//! a fresh connection, `mandatory`, persistent, waiting for confirms every
//! 1,000. Both publish to the same topic exchange, routed into one durable
//! quorum queue that is purged after each iteration.
//!
//! The `amqp_consume` group times draining 10,000 queued messages:
//! `consumer` is a [`Consumer`] with an [`IdempotentHandler`] on the
//! in-memory store (decode, record, apply, ack each); `raw_consume` is raw
//! lapin with the same prefetch acking each message.
//!
//! Run: `cargo bench -p es-benches --bench amqp_relay` (needs RabbitMQ at `AMQP_URL`).

mod amqp_support;
mod support;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use amqp_support::{amqp_url, Broker};
use criterion::{criterion_group, Criterion, Throughput};
use es_amqp::{
    lapin::{
        options::{
            BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
            ConfirmSelectOptions,
        },
        types::FieldTable,
        BasicProperties, Connection, ConnectionProperties,
    },
    wire, Consumer, ConsumerConfig, Handler, IdempotentHandler, InMemoryIdempotencyStore,
    InMemoryTransaction, Relay, RelayConfig, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, InMemoryProjectionStore, InMemoryStore,
    Metadata, NewEvent, Position, RecordedEvent, StreamId,
};
use futures::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

const PUBLISH_GROUP: &str = "amqp_publish";
const CONSUME_GROUP: &str = "amqp_consume";
const MESSAGES: usize = 10_000;
const PREFETCH: u16 = 200;

/// 10,000 events over 100 streams, like a busy booking service.
async fn filled_store() -> (InMemoryStore, Position) {
    let store = InMemoryStore::new();
    let mut last = Position::START;
    for round in 0..MESSAGES / 1_000 {
        for s in 0..100 {
            let stream = StreamId::new(format!("booking-{s}")).expect("stream id");
            let events = (0..10)
                .map(|i| {
                    NewEvent::raw(
                        "BookingCreated",
                        serde_json::json!({"slot": format!("A-{s}"), "round": round, "i": i}),
                    )
                    .with_metadata(Metadata::default().with_correlation_id(Uuid::now_v7()))
                })
                .collect();
            last = store
                .append(&stream, ExpectedVersion::Any, events)
                .await
                .expect("append")
                .last_position
                .expect("position");
        }
    }
    (store, last)
}

/// Raw lapin: publish prepared messages, waiting for confirms every 1,000.
async fn raw_publish(exchange: &str, messages: &[(String, Vec<u8>, BasicProperties)]) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    for chunk in messages.chunks(1_000) {
        for (key, body, properties) in chunk {
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    body,
                    properties.clone(),
                )
                .await
                .expect("publish");
            drop(confirm); // collected by wait_for_confirms
        }
        let returned = channel.wait_for_confirms().await.expect("confirms");
        assert!(returned.is_empty(), "unroutable in the baseline");
    }
    let _ = connection.close(200, "ok".into()).await;
}

/// Counts handled events and signals the count.
#[derive(Default)]
struct Count {
    handled: AtomicU64,
    progress: Arc<watch::Sender<u64>>,
}

#[async_trait]
impl Handler for Count {
    async fn handle(&self, _: &RecordedEvent) -> Result<(), BoxError> {
        let n = self.handled.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress.send_replace(n);
        Ok(())
    }
}

struct Tally;

#[async_trait]
impl TransactionalHandler<InMemoryTransaction<u64>> for Tally {
    async fn apply(
        &self,
        tx: &mut InMemoryTransaction<u64>,
        _: &RecordedEvent,
        _: Option<u64>,
    ) -> Result<(), BoxError> {
        tx.update(|n| *n += 1);
        Ok(())
    }
}

/// An idempotent handler that signals progress.
struct Idempotent {
    inner: IdempotentHandler<InMemoryIdempotencyStore<u64>, Tally>,
    count: Count,
}

#[async_trait]
impl Handler for Idempotent {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        self.count.handle(event).await
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (store, last) = runtime.block_on(filled_store());
    let broker = runtime.block_on(Broker::new("es-amqp-bench"));
    let routing = es_amqp::RoutingKey::default();
    let messages: Vec<(String, Vec<u8>, BasicProperties)> = runtime.block_on(async {
        store
            .read_all(Position::START, MESSAGES)
            .await
            .expect("read")
            .iter()
            .map(|event| {
                let (body, properties) = wire::encode(event).expect("encode");
                (routing.key_for(event), body, properties)
            })
            .collect()
    });

    let mut group = c.benchmark_group(PUBLISH_GROUP);
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("relay", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (store, broker) = (store.clone(), &broker);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let relay = Relay::new(
                        store.clone(),
                        InMemoryProjectionStore::<()>::new(),
                        RelayConfig::builder(amqp_url(), "bench-relay", &broker.exchange)
                            .build()
                            .expect("config"),
                    );
                    let started = Instant::now();
                    let task = tokio::spawn({
                        let relay = relay.clone();
                        async move { relay.run().await }
                    });
                    relay.wait_for_confirmed(last).await;
                    total += started.elapsed();
                    task.abort();
                    broker.purge().await;
                }
                total
            }
        })
    });
    group.bench_function("raw_publish", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (messages, broker) = (&messages, &broker);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    raw_publish(&broker.exchange, messages).await;
                    total += started.elapsed();
                    broker.purge().await;
                }
                total
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group(CONSUME_GROUP);
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("consumer", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (messages, broker) = (&messages, &broker);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    raw_publish(&broker.exchange, messages).await;
                    let handler = Idempotent {
                        inner: IdempotentHandler::new(
                            "bench",
                            InMemoryIdempotencyStore::new(),
                            Tally,
                        )
                        .expect("a valid consumer name"),
                        count: Count::default(),
                    };
                    let mut progress = handler.count.progress.subscribe();
                    let consumer = Consumer::new(
                        ConsumerConfig::builder(amqp_url(), &broker.exchange, &broker.queue)
                            .with_prefetch(PREFETCH)
                            .build()
                            .expect("config"),
                        handler,
                    );
                    let started = Instant::now();
                    let task = tokio::spawn(async move { consumer.run().await });
                    progress
                        .wait_for(|n| *n >= MESSAGES as u64)
                        .await
                        .expect("consumer alive");
                    total += started.elapsed();
                    task.abort();
                    broker.purge().await;
                }
                total
            }
        })
    });
    group.bench_function("raw_consume", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (messages, broker) = (&messages, &broker);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    raw_publish(&broker.exchange, messages).await;
                    let started = Instant::now();
                    let connection =
                        Connection::connect(&amqp_url(), ConnectionProperties::default())
                            .await
                            .expect("connect");
                    let channel = connection.create_channel().await.expect("channel");
                    channel
                        .basic_qos(PREFETCH, BasicQosOptions::default())
                        .await
                        .expect("qos");
                    let mut deliveries = channel
                        .basic_consume(
                            broker.queue.as_str().into(),
                            "raw-bench".into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                        .expect("consume");
                    for _ in 0..MESSAGES {
                        let delivery = deliveries
                            .next()
                            .await
                            .expect("a delivery")
                            .expect("no error");
                        delivery
                            .acker
                            .ack(BasicAckOptions::default())
                            .await
                            .expect("ack");
                    }
                    total += started.elapsed();
                    let _ = connection.close(200, "ok".into()).await;
                    broker.purge().await;
                }
                total
            }
        })
    });
    group.finish();
    runtime.block_on(broker.delete());
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    support::report(
        PUBLISH_GROUP,
        "relay",
        "raw_publish",
        MESSAGES as f64,
        "goal: relay >= 0.8x raw lapin with confirms every 1,000",
    );
    support::report(
        CONSUME_GROUP,
        "consumer",
        "raw_consume",
        MESSAGES as f64,
        "consumer with idempotent in-memory handling vs raw lapin ack-each",
    );
}
