//! Shared fixtures of the broker tests: isolated names, a consumer whose
//! state counts applications per event, waiting with timeouts, selective
//! connection killing and cleanup.
#![allow(dead_code)]

pub mod idempotency_scenarios;

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use es_amqp::{
    lapin::{
        options::{ExchangeDeleteOptions, QueueDeleteOptions},
        Connection, ConnectionProperties,
    },
    Backoff, Consumer, ConsumerConfig, Handler, IdempotentHandler, InMemoryIdempotencyStore,
    InMemoryTransaction, RelayConfig, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, InMemoryStore, NewEvent, Position,
    RecordedEvent, StreamId,
};
use tokio::sync::watch;
use uuid::Uuid;

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Names unique to one test, and their cleanup.
pub struct Names {
    pub suffix: String,
    pub exchange: String,
    pub queue: String,
}

impl Names {
    pub fn new(test: &str) -> Self {
        let suffix = format!("{test}-{}", Uuid::new_v4().simple());
        Self {
            exchange: format!("es-amqp-test.{suffix}.events"),
            queue: format!("es-amqp-test.{suffix}.queue"),
            suffix,
        }
    }

    pub fn relay_config(&self) -> RelayConfig {
        RelayConfig::new(amqp_url(), format!("relay-{}", self.suffix), &self.exchange)
            .with_reconnect(Backoff::new(
                Duration::from_millis(20),
                Duration::from_millis(500),
            ))
    }

    pub fn consumer_config(&self) -> ConsumerConfig {
        ConsumerConfig::new(amqp_url(), &self.exchange, &self.queue)
            .with_name(format!("consumer-{}", self.suffix))
            .with_reconnect(Backoff::new(
                Duration::from_millis(20),
                Duration::from_millis(500),
            ))
    }

    /// The queues and exchanges this test may have created.
    fn resources(&self) -> (Vec<String>, Vec<String>) {
        (
            vec![self.queue.clone(), format!("{}.dlq", self.queue)],
            vec![self.exchange.clone(), format!("{}.dlx", self.queue)],
        )
    }
}

async fn delete_resources(queues: Vec<String>, exchanges: Vec<String>) {
    let Ok(connection) = Connection::connect(&amqp_url(), ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for queue in queues {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in exchanges {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "cleanup".into()).await;
}

impl Drop for Names {
    /// Deletes the test's queues and exchanges, even when the test panicked.
    fn drop(&mut self) {
        let (queues, exchanges) = self.resources();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        delete_resources(queues, exchanges),
                    )
                    .await;
                });
            }
        })
        .join();
    }
}

/// Closes every broker connection whose name contains `suffix`, as
/// `rabbitmqctl close_all_connections` would, but only this test's.
/// Returns how many were closed.
pub fn close_connections(suffix: &str) -> usize {
    let output = std::process::Command::new("rabbitmqctl")
        .args(["list_connections", "pid", "client_properties", "-s"])
        .output()
        .expect("run rabbitmqctl list_connections");
    assert!(output.status.success(), "rabbitmqctl failed: {output:?}");
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut closed = 0;
    for line in listing.lines().filter(|l| l.contains(suffix)) {
        let Some(pid) = line.split('\t').next() else {
            continue;
        };
        let status = std::process::Command::new("rabbitmqctl")
            .args(["close_connection", pid.trim(), "test"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run rabbitmqctl close_connection");
        if status.success() {
            closed += 1;
        }
    }
    closed
}

/// The consumer's state: how often each event was applied, and how often a
/// stream's events arrived out of version order.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub times: HashMap<Uuid, u32>,
    pub out_of_order: u64,
    pub gaps: u64,
}

/// Applies every event, counting applications; fails on `poison` while
/// `failures_left` is above zero (`u32::MAX`: always).
pub struct Apply {
    pub poison: Option<Uuid>,
    pub failures_left: std::sync::atomic::AtomicU32,
    pub progress: Arc<watch::Sender<usize>>,
}

#[async_trait]
impl TransactionalHandler<InMemoryTransaction<Applied>> for Apply {
    async fn apply(
        &self,
        tx: &mut InMemoryTransaction<Applied>,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        if Some(event.event_id) == self.poison {
            use std::sync::atomic::Ordering;
            let left = self.failures_left.load(Ordering::SeqCst);
            if left > 0 {
                if left != u32::MAX {
                    self.failures_left.store(left - 1, Ordering::SeqCst);
                }
                return Err(format!("poison event {}", event.event_id).into());
            }
        }
        let id = event.event_id;
        let expected = previous_version.unwrap_or(0) + 1;
        let (out_of_order, gap) = (event.version < expected, event.version > expected);
        tx.update(move |state| {
            *state.times.entry(id).or_insert(0) += 1;
            state.out_of_order += u64::from(out_of_order);
            state.gaps += u64::from(gap);
        });
        Ok(())
    }
}

/// An idempotent handler that signals progress after each commit.
pub struct Tracked {
    pub inner: IdempotentHandler<InMemoryIdempotencyStore<Applied>, Apply>,
    pub state: InMemoryIdempotencyStore<Applied>,
    pub progress: Arc<watch::Sender<usize>>,
}

#[async_trait]
impl Handler for Tracked {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.inner.handle(event).await?;
        let applied = self.state.read(|s| s.times.len());
        self.progress.send_replace(applied);
        Ok(())
    }
}

pub struct ConsumerSide {
    pub state: InMemoryIdempotencyStore<Applied>,
    pub progress: Arc<watch::Sender<usize>>,
}

impl ConsumerSide {
    pub fn new() -> Self {
        Self {
            state: InMemoryIdempotencyStore::new(),
            progress: Arc::new(watch::channel(0).0),
        }
    }

    pub fn consumer(&self, config: ConsumerConfig, poison: Option<Uuid>) -> Consumer<Tracked> {
        self.flaky_consumer(config, poison, u32::MAX)
    }

    /// A consumer whose handler fails `failures` times on `poison`.
    pub fn flaky_consumer(
        &self,
        config: ConsumerConfig,
        poison: Option<Uuid>,
        failures: u32,
    ) -> Consumer<Tracked> {
        let apply = Apply {
            poison,
            failures_left: std::sync::atomic::AtomicU32::new(failures),
            progress: self.progress.clone(),
        };
        Consumer::new(
            config,
            Tracked {
                inner: IdempotentHandler::new("test-consumer", self.state.clone(), apply),
                state: self.state.clone(),
                progress: self.progress.clone(),
            },
        )
        .expect("valid consumer config")
    }

    /// Waits (bounded) until `n` distinct events were applied.
    pub async fn wait_for(&self, n: usize, timeout: Duration) {
        let mut progress = self.progress.subscribe();
        within(timeout, "consumer to apply events", async {
            progress
                .wait_for(|applied| *applied >= n)
                .await
                .expect("progress sender alive");
        })
        .await;
    }

    /// Asserts exactly the `expected` events were applied, each exactly once.
    pub fn assert_exactly_once(&self, expected: &[Uuid]) {
        let state = self.state.state();
        let twice = state.times.values().filter(|&&n| n > 1).count();
        let lost = expected
            .iter()
            .filter(|id| !state.times.contains_key(id))
            .count();
        assert_eq!(lost, 0, "events lost");
        assert_eq!(twice, 0, "events applied more than once");
        assert_eq!(state.times.len(), expected.len(), "unexpected extra events");
    }
}

pub async fn within<T>(timeout: Duration, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(timeout, f).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Appends `total` events over `streams` streams, `batch` events per append,
/// round-robin so streams interleave in the global log. Returns the ids in
/// log order and the last position.
pub async fn append_events(
    store: &InMemoryStore,
    prefix: &str,
    streams: usize,
    total: usize,
    batch: usize,
) -> (Vec<Uuid>, Position) {
    let mut ids = Vec::with_capacity(total);
    let mut last = Position::START;
    let mut written = 0;
    let mut round = 0;
    while written < total {
        for s in 0..streams {
            if written >= total {
                break;
            }
            let n = batch.min(total - written);
            let stream = StreamId::new(format!("{prefix}-{s}")).expect("stream id");
            let correlation = Uuid::now_v7();
            let events: Vec<NewEvent> = (0..n)
                .map(|i| {
                    NewEvent::raw("Happened", serde_json::json!({"round": round, "i": i}))
                        .with_metadata(
                            es_core::Metadata::default().with_correlation_id(correlation),
                        )
                })
                .collect();
            ids.extend(events.iter().map(|e| e.event_id));
            let outcome = store
                .append(&stream, ExpectedVersion::Any, events)
                .await
                .expect("append");
            last = outcome.last_position.expect("non-empty batch");
            written += n;
        }
        round += 1;
    }
    (ids, last)
}
