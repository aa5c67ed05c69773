//! End-to-end latency, append → Parking slot row updated through RabbitMQ.
//!
//! The path measured is the production one, through the crates' public API:
//! a [`PostgresStore`] append; a [`Relay`] following the store's global log
//! (woken by the append) publishing with publisher confirms into a topic
//! exchange; a [`Consumer`] on a durable quorum queue handing the event to an
//! [`IdempotentHandler`] on a [`PostgresIdempotencyStore`], whose transaction
//! records the event id and updates a Parking-like `parking_slots` row
//! (`blocked` on `BookingCreated`, `reserved` on `BookingReserved`), commits,
//! then acknowledges.
//!
//! Each sample is one event sent on its own: the clock starts before the
//! append and stops when the handler's commit returned (signalled through a
//! tokio channel), and the next event is appended only after that. After a
//! warm-up of [`WARMUP_BOOKINGS`] bookings, [`BOOKINGS`] bookings are created
//! and reserved (two events each, on a slot of their own). A `_parts` line
//! splits the same samples: until the append returned, until the relay's
//! confirmed position passed the event, until the handler committed.
//!
//! The baseline in the same run, `raw`, walks the same hops by hand: a raw
//! sqlx single-row INSERT commit, a raw lapin publish (persistent,
//! `mandatory`) awaiting its confirm, and a raw lapin consumer on a quorum
//! queue of its own running the slot UPDATE (autocommit) before it acks. It
//! has no relay (the writer publishes itself, a dual write), no global-log
//! read, no idempotency record: the floor of the hops.
//!
//! A plain harness (no criterion): what matters is the latency distribution,
//! reported as p50/p99 lines that `scripts/bench-all` collects.
//!
//! Run: `cargo bench -p es-benches --bench e2e_latency` (needs PostgreSQL at `DATABASE_URL`
//! and RabbitMQ at `AMQP_URL`).

mod pg_support;

use std::{
    collections::HashSet,
    str::FromStr,
    time::{Duration, Instant},
};

use es_amqp::{
    lapin::{
        options::{
            BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
            ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeleteOptions,
        },
        types::FieldTable,
        BasicProperties, Connection, ConnectionProperties,
    },
    Consumer, ConsumerConfig, Handler, IdempotentHandler, PostgresIdempotencyStore, Relay,
    RelayConfig, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};
use es_postgres::sqlx::{
    self,
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres,
};
use futures::StreamExt;
use tokio::sync::mpsc;
use uuid::Uuid;

const GROUP: &str = "e2e_latency";
/// Bookings (two events each) sent before measuring.
const WARMUP_BOOKINGS: usize = 25;
/// Bookings (two events each) measured.
const BOOKINGS: usize = 750;
/// Longest wait for one event to arrive before the run is declared broken.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
const GOAL_P99_MS: f64 = 25.0;

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Parking's slot rows: what a booking event changes.
struct ParkingSlots;

#[async_trait]
impl TransactionalHandler<sqlx::Transaction<'static, Postgres>> for ParkingSlots {
    async fn apply(
        &self,
        tx: &mut sqlx::Transaction<'static, Postgres>,
        event: &RecordedEvent,
        _: Option<u64>,
    ) -> Result<(), BoxError> {
        let Some(slot) = event.payload["parking_slot_ref_no"].as_str() else {
            return Ok(());
        };
        let sql = match event.event_type.as_str() {
            "BookingCreated" => {
                "UPDATE parking_slots SET status = 'blocked' WHERE name = $1 AND status = 'available'"
            }
            "BookingReserved" => "UPDATE parking_slots SET status = 'reserved' WHERE name = $1",
            _ => return Ok(()),
        };
        sqlx::query(sql).bind(slot).execute(&mut **tx).await?;
        Ok(())
    }
}

/// The idempotent handler, signalling each event once its commit returned.
struct Signalling {
    inner: IdempotentHandler<PostgresIdempotencyStore, ParkingSlots>,
    done: mpsc::UnboundedSender<(Uuid, Instant)>,
}

#[async_trait]
impl Handler for Signalling {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        let _ = self.done.send((event.event_id, Instant::now()));
        Ok(())
    }
}

/// A pool on the bench's schema (the idempotency tables are unqualified).
async fn parking_pool(schema: &str) -> PgPool {
    let options = PgConnectOptions::from_str(&pg_support::database_url())
        .expect("DATABASE_URL")
        .options([("search_path", schema)]);
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("connect to PostgreSQL (DATABASE_URL)")
}

async fn create_slots(pool: &PgPool, prefix: &str, n: usize) {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS parking_slots (name TEXT PRIMARY KEY, status TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .expect("create parking_slots");
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    sqlx::query("INSERT INTO parking_slots (name, status) SELECT unnest($1::text[]), 'available'")
        .bind(&names)
        .execute(pool)
        .await
        .expect("insert slots");
}

fn booking_events(slot: &str) -> [NewEvent; 2] {
    let payload = serde_json::json!({ "parking_slot_ref_no": slot });
    [
        NewEvent::raw("BookingCreated", payload.clone()),
        NewEvent::raw("BookingReserved", payload),
    ]
}

/// Latency quantile `q` (0..=1) of sorted `samples`, in milliseconds.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] * 1e3
}

struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn summarise(mut samples: Vec<f64>) -> Summary {
    samples.sort_by(f64::total_cmp);
    Summary {
        p50: quantile(&samples, 0.50),
        p99: quantile(&samples, 0.99),
        max: quantile(&samples, 1.0),
        n: samples.len(),
    }
}

/// Per-event latencies of the pipeline, from before the append (seconds).
#[derive(Default)]
struct Samples {
    /// Until the handler's commit returned: the end-to-end figure.
    total: Vec<f64>,
    /// Until the append returned.
    append: Vec<f64>,
    /// Until the relay's confirmed position passed the event.
    confirmed: Vec<f64>,
    /// Deliveries of an event already handled (skipped by the handler).
    redelivered: usize,
}

/// Our pipeline: store → relay → RabbitMQ → consumer → idempotent PostgreSQL handler.
async fn pipeline(suffix: &str) -> Samples {
    let store = pg_support::store(4).await;
    let schema = store.schema().as_str().to_owned();
    let pool = parking_pool(&schema).await;
    let idempotency = PostgresIdempotencyStore::new(pool.clone());
    idempotency.migrate().await.expect("idempotency tables");
    create_slots(&pool, "slot", WARMUP_BOOKINGS + BOOKINGS).await;

    let exchange = format!("es-bench-e2e.{suffix}.events");
    let queue = format!("es-bench-e2e.{suffix}.parking");
    let (done, mut arrived) = mpsc::unbounded_channel();
    let consumer = Consumer::new(
        ConsumerConfig::builder(amqp_url(), &exchange, &queue)
            .with_binding_keys(["booking.#"])
            .build()
            .expect("consumer config"),
        Signalling {
            inner: IdempotentHandler::new("parking", idempotency.clone(), ParkingSlots)
                .expect("a valid consumer name"),
            done,
        },
    );
    consumer.declare().await.expect("declare the queue");
    let relay = Relay::new(
        store.clone(),
        store.checkpoints(),
        RelayConfig::builder(amqp_url(), format!("e2e-latency-relay-{suffix}"), &exchange)
            .build()
            .expect("relay config"),
    );
    let mut confirmed = relay.confirmed();
    let relay_task = tokio::spawn(async move { relay.run().await });
    let consumer_task = tokio::spawn(async move { consumer.run().await });

    let mut samples = Samples::default();
    let mut seen = HashSet::new();
    for b in 0..WARMUP_BOOKINGS + BOOKINGS {
        let stream = StreamId::new(format!("booking-{b}")).expect("stream id");
        for (i, event) in booking_events(&format!("slot-{b}")).into_iter().enumerate() {
            let id = event.event_id;
            let expected = if i == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(i as u64)
            };
            let started = Instant::now();
            let position = store
                .append(&stream, expected, vec![event])
                .await
                .expect("append")
                .last_position
                .expect("a position");
            let appended = Instant::now();
            // The relay's confirm is observed here, the handler's commit is
            // timestamped in the handler: the two waits may finish in any order.
            tokio::time::timeout(EVENT_TIMEOUT, confirmed.wait_for(|p| *p >= position))
                .await
                .expect("the broker confirmed in time")
                .expect("relay alive");
            let relayed = Instant::now();
            let at = loop {
                let (handled, at) = tokio::time::timeout(EVENT_TIMEOUT, arrived.recv())
                    .await
                    .expect("the event reached Parking in time")
                    .expect("consumer alive");
                if handled == id {
                    break at;
                }
                // At least once: after a reconnect the broker may deliver an
                // earlier event again (the idempotent handler skipped it).
                assert!(seen.contains(&handled), "only earlier events come again");
                samples.redelivered += 1;
            };
            seen.insert(id);
            if b >= WARMUP_BOOKINGS {
                samples.total.push((at - started).as_secs_f64());
                samples.append.push((appended - started).as_secs_f64());
                samples.confirmed.push((relayed - started).as_secs_f64());
            }
        }
    }
    relay_task.abort();
    consumer_task.abort();

    let reserved: i64 =
        sqlx::query_scalar("SELECT count(*) FROM parking_slots WHERE status = 'reserved'")
            .fetch_one(&pool)
            .await
            .expect("count slots");
    assert_eq!(
        reserved as usize,
        WARMUP_BOOKINGS + BOOKINGS,
        "every slot reserved"
    );
    assert_eq!(
        idempotency.processed_count("parking").await.expect("count") as usize,
        2 * (WARMUP_BOOKINGS + BOOKINGS),
        "every event recorded once"
    );
    pool.close().await;
    delete_broker_objects(&exchange, &queue).await;
    pg_support::drop_schemas(&[&store]).await;
    samples
}

/// The same hops by hand: raw INSERT, raw publish + confirm, raw consume + UPDATE + ack.
async fn raw(suffix: &str) -> Vec<f64> {
    let raw_store = pg_support::store(4).await;
    let schema = raw_store.schema().as_str().to_owned();
    let pool = parking_pool(&schema).await;
    create_slots(&pool, "slot", WARMUP_BOOKINGS + BOOKINGS).await;
    let insert = pg_support::raw_insert_sql(&raw_store);

    let exchange = format!("es-bench-e2e-raw.{suffix}.events");
    let queue = format!("es-bench-e2e-raw.{suffix}.parking");
    // The same topology as the consumer's (quorum queue bound with `#`).
    let config = ConsumerConfig::builder(amqp_url(), &exchange, &queue)
        .build()
        .expect("config");
    Consumer::new(config, Noop)
        .declare()
        .await
        .expect("declare");

    let (done, mut arrived) = mpsc::unbounded_channel::<Instant>();
    let consumer_pool = pool.clone();
    let consumer_queue = queue.clone();
    let consumer_task = tokio::spawn(async move {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("connect");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .basic_qos(200, BasicQosOptions::default())
            .await
            .expect("qos");
        let mut deliveries = channel
            .basic_consume(
                consumer_queue.as_str().into(),
                "raw-e2e".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        while let Some(delivery) = deliveries.next().await {
            let delivery = delivery.expect("delivery");
            let body = String::from_utf8_lossy(&delivery.data).into_owned();
            let (event_type, slot) = body.split_once(' ').expect("body");
            let sql = if event_type == "BookingCreated" {
                "UPDATE parking_slots SET status = 'blocked' WHERE name = $1 AND status = 'available'"
            } else {
                "UPDATE parking_slots SET status = 'reserved' WHERE name = $1"
            };
            sqlx::query(sql)
                .bind(slot)
                .execute(&consumer_pool)
                .await
                .expect("update");
            let at = Instant::now();
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
            let _ = done.send(at);
        }
        let _ = connection.close(200, "ok".into()).await;
    });

    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    let properties = BasicProperties::default().with_delivery_mode(2);

    let mut samples = Vec::with_capacity(2 * BOOKINGS);
    for b in 0..WARMUP_BOOKINGS + BOOKINGS {
        let stream = format!("booking-{b}");
        let slot = format!("slot-{b}");
        let payload = serde_json::json!({ "parking_slot_ref_no": slot });
        for (version, event_type) in [(1, "BookingCreated"), (2, "BookingReserved")] {
            let started = Instant::now();
            pg_support::raw_insert(&raw_store, &insert, &stream, version, event_type, &payload)
                .await;
            let body = format!("{event_type} {slot}");
            channel
                .basic_publish(
                    exchange.as_str().into(),
                    "booking.raw".into(),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    body.as_bytes(),
                    properties.clone(),
                )
                .await
                .expect("publish")
                .await
                .expect("confirm");
            let at = tokio::time::timeout(EVENT_TIMEOUT, arrived.recv())
                .await
                .expect("the message arrived in time")
                .expect("raw consumer alive");
            if b >= WARMUP_BOOKINGS {
                samples.push((at - started).as_secs_f64());
            }
        }
    }
    consumer_task.abort();
    let _ = connection.close(200, "ok".into()).await;
    pool.close().await;
    delete_broker_objects(&exchange, &queue).await;
    pg_support::drop_schemas(&[&raw_store]).await;
    samples
}

/// A handler for declaring topology only.
struct Noop;

#[async_trait]
impl Handler for Noop {
    async fn handle(&self, _: &RecordedEvent) -> Result<(), BoxError> {
        Ok(())
    }
}

async fn delete_broker_objects(exchange: &str, queue: &str) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    for queue in [queue.to_owned(), format!("{queue}.dlq")] {
        let _ = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for exchange in [exchange.to_owned(), format!("{queue}.dlx")] {
        let _ = channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "ok".into()).await;
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let suffix = Uuid::new_v4().simple().to_string();
    let samples = runtime.block_on(pipeline(&suffix));
    let redelivered = samples.redelivered;
    let ours = summarise(samples.total);
    let append = summarise(samples.append);
    let confirmed = summarise(samples.confirmed);
    let raw = summarise(runtime.block_on(raw(&suffix)));
    eprintln!(
        "{GROUP}: pipeline p50 {:.2} ms p99 {:.2} ms max {:.2} ms; raw p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        ours.p50, ours.p99, ours.max, raw.p50, raw.p99, raw.max
    );
    println!(
        "RATIO {GROUP}: pipeline p50 {:.2} ms, raw p50 {:.2} ms, ratio {:.2}x (raw latency / ours; the raw path has no relay, no log read, no idempotency record)",
        ours.p50,
        raw.p50,
        raw.p50 / ours.p50
    );
    println!(
        "FIGURE {GROUP}: pipeline p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} events sent one at a time, {redelivered} redelivered (goal: p99 <= {GOAL_P99_MS:.0} ms: {})",
        ours.p50,
        ours.p99,
        ours.max,
        ours.n,
        if ours.p99 <= GOAL_P99_MS { "met" } else { "MISSED" }
    );
    println!(
        "FIGURE {GROUP}_parts: from before the append, append returned p50 {:.2} ms / p99 {:.2} ms, relay confirmed p50 {:.2} ms / p99 {:.2} ms, handler committed p50 {:.2} ms / p99 {:.2} ms",
        append.p50, append.p99, confirmed.p50, confirmed.p99, ours.p50, ours.p99
    );
    println!(
        "FIGURE {GROUP}_raw: raw p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} events (INSERT, publish + confirm, consume + UPDATE)",
        raw.p50, raw.p99, raw.max, raw.n
    );
}
