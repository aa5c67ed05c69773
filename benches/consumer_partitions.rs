//! Consumer throughput of a partitioned consumer group: N = 1, 2, 4
//! partitions read by C = 1, 2, 4 consumer processes. Each consumer is a real
//! child process (this bench binary re-executed with `ES_BENCH_CONSUMER` set)
//! running one `ConsumerGroup` instance (`--instance i --instances C` in a
//! service's terms) on its own connections; it reports its applied count on
//! stdout.
//!
//! Each event is handled by an [`IdempotentHandler`] on the in-memory store
//! whose work includes about 1 ms of simulated I/O (a tokio sleep), so one
//! partition handles at most about 1,000 events a second and more partitions
//! should scale nearly linearly. One iteration publishes 400 fresh events
//! over 100 streams (encoded before the clock starts; publishing is included
//! and takes a few milliseconds) into a group whose consumers are already
//! subscribed, and ends when every event was handled. The report prints each
//! configuration's throughput against N = 1 with the same consumers (goal:
//! at least 0.8 N).
//!
//! Run: `cargo bench -p es-benches --bench consumer_partitions` (needs RabbitMQ at
//! `AMQP_URL`).

mod amqp_support;
mod support;

use std::time::{Duration, Instant};

use amqp_support::amqp_url;
use criterion::{criterion_group, Criterion, Throughput};
use es_amqp::{
    lapin::{
        options::{
            BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeclareOptions,
            QueueDeleteOptions,
        },
        types::FieldTable,
        BasicProperties, Connection, ConnectionProperties,
    },
    wire, ConsumerConfig, ConsumerGroup, ConsumerGroupConfig, Handler, IdempotentHandler,
    InMemoryIdempotencyStore, InMemoryTransaction, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, InMemoryStore, NewEvent, Position,
    RecordedEvent, StreamId,
};
use std::{io::Write, process::Stdio};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::watch,
};
use uuid::Uuid;

const GROUP: &str = "consumer_partitions";
const EVENTS: usize = 400;
const STREAMS: usize = 100;
const SHAPES: [u16; 3] = [1, 2, 4];
const SIMULATED_IO: Duration = Duration::from_millis(1);
const STANDBY_DELAY: Duration = Duration::from_millis(200);
/// Alternating rounds per comparison in the interleaved run.
const INTERLEAVED_ROUNDS: usize = 12;

/// Counts applications after about 1 ms of simulated I/O.
struct SlowApply;

#[async_trait]
impl TransactionalHandler<InMemoryTransaction<u64>> for SlowApply {
    async fn apply(
        &self,
        tx: &mut InMemoryTransaction<u64>,
        _: &RecordedEvent,
        _: Option<u64>,
    ) -> Result<(), BoxError> {
        tokio::time::sleep(SIMULATED_IO).await;
        tx.update(|n| *n += 1);
        Ok(())
    }
}

/// The idempotent handler, reporting how many events were applied.
struct Counted {
    inner: IdempotentHandler<InMemoryIdempotencyStore<u64>, SlowApply>,
    state: InMemoryIdempotencyStore<u64>,
    applied: watch::Sender<u64>,
}

#[async_trait]
impl Handler for Counted {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        self.applied.send_replace(self.state.read(|n| *n));
        Ok(())
    }
}

/// `EVENTS` fresh events over `STREAMS` streams named after `round`,
/// encoded as the relay would publish them.
async fn encoded_events(round: u64) -> Vec<(Vec<u8>, BasicProperties)> {
    let store = InMemoryStore::new();
    for i in 0..EVENTS {
        let stream = StreamId::new(format!("booking-{round}-{}", i % STREAMS)).expect("stream id");
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::raw("BookingCreated", serde_json::json!({"i": i}))],
            )
            .await
            .expect("append");
    }
    store
        .read_all(Position::START, EVENTS)
        .await
        .expect("read")
        .iter()
        .map(|event| wire::encode(event).expect("encode"))
        .collect()
}

/// What a consumer child process is told (in `ES_BENCH_CONSUMER`):
/// `exchange queue partitions instance instances`.
const CHILD_ENV: &str = "ES_BENCH_CONSUMER";

/// One consumer group instance's configuration.
fn group_config(
    exchange: &str,
    queue: &str,
    partitions: u16,
    instance: u16,
    consumers: u16,
) -> ConsumerGroupConfig {
    let consumer = ConsumerConfig::builder(amqp_url(), exchange, queue)
        .build()
        .expect("consumer config");
    ConsumerGroupConfig::builder(consumer)
        .with_partitions(partitions)
        .with_instance(instance, consumers)
        .with_standby_delay(STANDBY_DELAY)
        .build()
        .expect("group config")
}

/// A group instance applying events idempotently, counting into `applied`.
fn counted_group(
    config: ConsumerGroupConfig,
    applied: watch::Sender<u64>,
) -> ConsumerGroup<Counted> {
    let state = InMemoryIdempotencyStore::<u64>::new();
    ConsumerGroup::new(
        config,
        Counted {
            inner: IdempotentHandler::new("bench", state.clone(), SlowApply)
                .expect("a valid consumer name"),
            state,
            applied,
        },
    )
}

/// The consumer child process: runs its group instance and prints its
/// applied count (one line per change) until killed.
fn child_main(spec: &str) {
    let fields: Vec<&str> = spec.split(' ').collect();
    let [exchange, queue, partitions, instance, instances] = fields[..] else {
        panic!("{CHILD_ENV}: expected 5 fields, got {spec:?}");
    };
    let number = |field: &str| field.parse::<u16>().expect("a number");
    let config = group_config(
        exchange,
        queue,
        number(partitions),
        number(instance),
        number(instances),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (applied, mut changes) = watch::channel(0);
        let group = counted_group(config, applied);
        tokio::spawn(async move {
            let _ = group.run().await;
        });
        while changes.changed().await.is_ok() {
            let applied = *changes.borrow_and_update();
            // A short line to a pipe: blocking the runtime for it is fine.
            let mut out = std::io::stdout().lock();
            writeln!(out, "{applied}").expect("stdout");
            out.flush().expect("stdout");
        }
    });
}

/// The consumer processes of one configuration, subscribed and waiting for
/// events.
struct Running {
    config: ConsumerGroupConfig,
    children: Vec<Child>,
    applied: watch::Sender<u64>,
    publisher: Connection,
    exchange: String,
    queue: String,
    partitions: u16,
    /// Rounds published so far.
    rounds: std::cell::Cell<u64>,
}

impl Running {
    async fn start(partitions: u16, consumers: u16) -> Self {
        let suffix = Uuid::new_v4().simple();
        let exchange = format!("bench-partitions.{suffix}.events");
        let queue = format!("bench-partitions.{suffix}.queue");
        let config = group_config(&exchange, &queue, partitions, 0, consumers);
        counted_group(config.clone(), watch::channel(0).0)
            .declare()
            .await
            .expect("declare");
        let applied = watch::channel(0).0;
        let exe = std::env::current_exe().expect("the bench binary");
        let mut children = Vec::new();
        for instance in 0..consumers {
            let mut child = Command::new(&exe)
                .env(
                    CHILD_ENV,
                    format!("{exchange} {queue} {partitions} {instance} {consumers}"),
                )
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn a consumer process");
            let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
            let applied = applied.clone();
            tokio::spawn(async move {
                let mut seen = 0u64;
                while let Ok(Some(line)) = lines.next_line().await {
                    let now: u64 = line.trim().parse().expect("a count");
                    applied.send_modify(|n| *n += now - seen);
                    seen = now;
                }
            });
            children.push(child);
        }
        let publisher = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("connect");
        let running = Self {
            config,
            children,
            applied,
            publisher,
            exchange,
            queue,
            partitions,
            rounds: std::cell::Cell::new(0),
        };
        running.wait_subscribed().await;
        running
    }

    /// Waits until every partition queue has its active consumer, and the
    /// standbys had time to subscribe, so the spread is settled.
    async fn wait_subscribed(&self) {
        let channel = self.publisher.create_channel().await.expect("channel");
        for queue in self.config.partition_queues() {
            loop {
                let declared = channel
                    .queue_declare(
                        queue.as_str().into(),
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .expect("partition queue");
                // A single-active-consumer queue counts only its active
                // consumer, so this waits for one, then past the standby delay.
                if declared.consumer_count() >= 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(STANDBY_DELAY * 2).await;
        let _ = channel.close(200, "subscribed".into()).await;
    }

    /// One round: fresh events encoded (untimed), then published and drained;
    /// returns the time of the latter.
    async fn round(&self) -> Duration {
        let round = self.rounds.get();
        self.rounds.set(round + 1);
        let events = encoded_events(round).await;
        let started = Instant::now();
        self.publish_and_drain(&events, (round + 1) * EVENTS as u64)
            .await;
        started.elapsed()
    }

    /// Publishes `events` with confirms and waits until the handler applied
    /// `target` events in total.
    async fn publish_and_drain(&self, events: &[(Vec<u8>, BasicProperties)], target: u64) {
        let channel = self.publisher.create_channel().await.expect("channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        let mut confirms = Vec::with_capacity(events.len());
        for (body, properties) in events {
            confirms.push(
                channel
                    .basic_publish(
                        self.exchange.as_str().into(),
                        "booking.BookingCreated".into(),
                        BasicPublishOptions::default(),
                        body,
                        properties.clone(),
                    )
                    .await
                    .expect("publish"),
            );
        }
        for confirm in confirms {
            assert!(confirm.await.expect("confirm").is_ack());
        }
        let _ = channel.close(200, "published".into()).await;
        let mut applied = self.applied.subscribe();
        applied
            .wait_for(|n| *n >= target)
            .await
            .expect("handler alive");
    }

    async fn stop(self) {
        for mut child in self.children {
            let _ = child.kill().await;
        }
        let channel = self.publisher.create_channel().await.expect("channel");
        let mut queues = self.config.partition_queues();
        queues.push(format!("{}.dlq", self.queue));
        for queue in queues {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in [
            self.exchange.clone(),
            format!("{}.dlx", self.queue),
            format!("{}.partitions", self.queue),
            format!("{}.unpartitioned", self.queue),
        ] {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = self.publisher.close(200, "done".into()).await;
        eprintln!("{} partitions stopped", self.partitions);
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group(GROUP);
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    for consumers in SHAPES {
        for partitions in SHAPES {
            let running = runtime.block_on(Running::start(partitions, consumers));
            group.bench_function(format!("n{partitions}_c{consumers}"), |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let running = &running;
                    async move {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += running.round().await;
                        }
                        total
                    }
                });
            });
            runtime.block_on(running.stop());
        }
    }
    group.finish();
    interleaved(&runtime);
}

/// The goal judged on a noisy machine: for each process count, N = 1, 2
/// and 4 run side by side (idle ones wait subscribed) and take turns, so
/// every configuration sees the same load; prints each N against N = 1.
fn interleaved(runtime: &tokio::runtime::Runtime) {
    for consumers in SHAPES {
        let running: Vec<Running> = SHAPES
            .iter()
            .map(|&partitions| runtime.block_on(Running::start(partitions, consumers)))
            .collect();
        for (shape, partitions) in SHAPES.iter().enumerate().skip(1) {
            support::interleaved_timed(
                runtime,
                &format!("{GROUP} n{partitions}_c{consumers} vs n1_c{consumers}"),
                INTERLEAVED_ROUNDS,
                EVENTS as f64,
                &format!("goal >= {:.1}x", 0.8 * f64::from(*partitions)),
                || running[shape].round(),
                || running[0].round(),
            );
        }
        for set in running {
            runtime.block_on(set.stop());
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child_main(&spec);
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    for consumers in SHAPES {
        for partitions in SHAPES {
            support::report(
                GROUP,
                &format!("n{partitions}_c{consumers}"),
                &format!("n1_c{consumers}"),
                EVENTS as f64,
                &format!("goal >= {:.1}x", 0.8 * f64::from(partitions)),
            );
        }
    }
}
