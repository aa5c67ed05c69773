//! The broker tests' shared set-up: isolated names and their cleanup, a
//! relay and a consumer built the same way for every test (optionally
//! through a [`FaultProxy`] that cuts, refuses or holds their connections),
//! a consumer whose state counts applications per event, tasks that stop
//! when the test ends, and waiting with timeouts.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use es_amqp::{
    lapin::{
        options::{
            BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeleteOptions,
        },
        BasicProperties, Channel, Connection, ConnectionProperties,
    },
    Backoff, Consumer, ConsumerConfig, ConsumerConfigBuilder, Handler, IdempotentHandler,
    InMemoryIdempotencyStore, InMemoryTransaction, Relay, RelayCheckpoint, RelayConfig,
    RelayConfigBuilder, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, InMemoryProjectionStore, InMemoryStore,
    NewEvent, Position, RecordedEvent, StreamId,
};
use es_test_support::FaultProxy;
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The broker's `host:port`, for a proxy in front of it.
pub fn amqp_addr() -> String {
    let url = url::Url::parse(&amqp_url()).expect("AMQP_URL");
    format!(
        "{}:{}",
        url.host_str().expect("AMQP_URL host"),
        url.port().unwrap_or(5672)
    )
}

/// The reconnect backoff of every test relay and consumer.
pub fn quick_reconnect() -> Backoff {
    Backoff::new(Duration::from_millis(20), Duration::from_millis(500)).expect("backoff")
}

/// The partition queues `{queue}.p{n}` a test's cleanup deletes: tests use
/// fewer partitions than this.
const PARTITIONS_CLEANED: u16 = 8;

/// Names unique to one test, and their cleanup.
pub struct Names {
    pub suffix: String,
    pub exchange: String,
    pub queue: String,
    /// Where a relay parks events it can never publish, and a queue bound there.
    pub parking_exchange: String,
    pub parking_queue: String,
}

impl Names {
    pub fn new(test: &str) -> Self {
        let suffix = format!("{test}-{}", Uuid::new_v4().simple());
        Self {
            exchange: format!("es-amqp-test.{suffix}.events"),
            queue: format!("es-amqp-test.{suffix}.queue"),
            parking_exchange: format!("es-amqp-test.{suffix}.parked"),
            parking_queue: format!("es-amqp-test.{suffix}.parked-queue"),
            suffix,
        }
    }

    /// The queues and exchanges this test may have created.
    fn resources(&self) -> (Vec<String>, Vec<String>) {
        (
            [
                self.queue.clone(),
                format!("{}.dlq", self.queue),
                self.parking_queue.clone(),
            ]
            .into_iter()
            .chain((0..PARTITIONS_CLEANED).map(|p| format!("{}.p{p}", self.queue)))
            .collect(),
            vec![
                self.exchange.clone(),
                format!("{}.dlx", self.queue),
                self.parking_exchange.clone(),
                format!("{}.partitions", self.queue),
                format!("{}.unpartitioned", self.queue),
            ],
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

/// The consumer's state: how often each event was applied, and how often a
/// stream's events arrived out of version order.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub times: HashMap<Uuid, u32>,
    pub out_of_order: u64,
    pub gaps: u64,
}

/// Applies every event, counting applications; fails on `poison` while
/// `failures_left` is above zero (`u32::MAX`: always). The default never
/// fails.
#[derive(Default)]
pub struct Apply {
    pub poison: Option<Uuid>,
    pub failures_left: std::sync::atomic::AtomicU32,
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
    /// Deliveries handed to this handler, duplicates included.
    pub calls: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl Handler for Tracked {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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

    /// A consumer whose handler fails `failures` times on `poison`.
    pub fn flaky_consumer(
        &self,
        config: ConsumerConfig,
        poison: Option<Uuid>,
        failures: u32,
    ) -> Consumer<Tracked> {
        Consumer::new(config, self.flaky_handler(poison, failures))
    }

    /// A handler of this side's state that fails `failures` times on `poison`.
    pub fn flaky_handler(&self, poison: Option<Uuid>, failures: u32) -> Tracked {
        let apply = Apply {
            poison,
            failures_left: std::sync::atomic::AtomicU32::new(failures),
        };
        Tracked {
            inner: IdempotentHandler::new("test-consumer", self.state.clone(), apply)
                .expect("a valid consumer name"),
            state: self.state.clone(),
            progress: self.progress.clone(),
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Waits (bounded) until `n` distinct events were applied.
    pub async fn wait_for(&self, n: usize, timeout: Duration) {
        let mut progress = self.progress.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            progress.wait_for(|applied| *applied >= n).await.map(|_| ())
        })
        .await;
        match waited {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("the consumer's progress sender is gone"),
            Err(_) => panic!(
                "timed out after {timeout:?} waiting for the consumer to apply {n} events: {} applied",
                *self.progress.borrow()
            ),
        }
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

    /// Waits (bounded) until all of `ids` were applied, then asserts each was
    /// applied exactly once and every stream in version order.
    pub async fn assert_all_applied(&self, ids: &[Uuid]) {
        self.wait_for(ids.len(), LONG_WAIT).await;
        self.assert_exactly_once(ids);
        self.assert_in_stream_order();
    }

    /// Asserts every stream's events were applied in version order, none skipped.
    pub fn assert_in_stream_order(&self) {
        let state = self.state.state();
        assert_eq!(
            state.out_of_order, 0,
            "a stream's events were applied out of order"
        );
        assert_eq!(state.gaps, 0, "a stream's events skipped a version");
    }
}

/// The bound on waiting for a whole run of events.
pub const LONG_WAIT: Duration = Duration::from_secs(300);

/// Waits (bounded) until `relay` has had everything up to `last` confirmed.
pub async fn confirmed_everything<S, C>(relay: &Relay<S, C>, last: Position)
where
    S: EventStore + Clone + 'static,
    C: RelayCheckpoint,
{
    within(
        LONG_WAIT,
        "the relay to confirm everything",
        relay.wait_for_confirmed(last),
    )
    .await;
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

/// One test's broker set-up: names, an in-memory store, the consumer side,
/// and (optionally) a proxy every connection goes through.
pub struct Harness {
    pub names: Names,
    pub store: InMemoryStore,
    pub side: ConsumerSide,
    /// The proxy between the relay and consumer and the broker, if any.
    pub proxy: Option<FaultProxy>,
    url: String,
}

/// Sends the relay's and consumer's warnings (reconnects, retries, dead
/// letters) to the test's captured output, so a failing test shows what its
/// relay and consumer went through (the one global subscriber, which also
/// captures spans: see [`es_test_support::span_capture`]).
pub fn capture_logs() {
    let _ = es_test_support::span_capture::spans();
}

impl Harness {
    /// Relay and consumer connect to the broker directly.
    pub fn new(test: &str) -> Self {
        capture_logs();
        Self {
            names: Names::new(test),
            store: InMemoryStore::new(),
            side: ConsumerSide::new(),
            proxy: None,
            url: amqp_url(),
        }
    }

    /// Relay and consumer connect through a [`FaultProxy`], with the AMQP
    /// heartbeat set to `heartbeat_secs` (if given) so a half-open link is
    /// noticed.
    pub fn via_proxy(test: &str, heartbeat_secs: Option<u16>) -> Self {
        let proxy = FaultProxy::start(&amqp_addr()).expect("start the fault proxy");
        let mut url =
            url::Url::parse(&proxy.redirect(&amqp_url()).expect("redirect")).expect("proxied URL");
        if let Some(secs) = heartbeat_secs {
            url.query_pairs_mut()
                .append_pair("heartbeat", &secs.to_string());
        }
        Self {
            proxy: Some(proxy),
            url: url.into(),
            ..Self::new(test)
        }
    }

    /// Relay and consumer connect with `amqps://` through a TLS-terminating
    /// proxy in front of the broker; the caller makes its CA trusted.
    pub fn via_tls(test: &str, proxy: &es_test_support::TlsProxy) -> Self {
        let mut url =
            url::Url::parse(&proxy.redirect(&amqp_url()).expect("redirect")).expect("proxied URL");
        url.set_scheme("amqps").expect("amqps scheme");
        Self {
            url: url.into(),
            ..Self::new(test)
        }
    }

    /// The proxy (the harness must have been made with [`Harness::via_proxy`]).
    pub fn proxy(&self) -> &FaultProxy {
        self.proxy.as_ref().expect("a harness made via_proxy")
    }

    /// The relay configuration every test starts from.
    pub fn relay_config(&self) -> RelayConfigBuilder {
        RelayConfig::builder(
            &self.url,
            format!("relay-{}", self.names.suffix),
            &self.names.exchange,
        )
        .with_reconnect(quick_reconnect())
    }

    /// The consumer configuration every test starts from.
    pub fn consumer_config(&self) -> ConsumerConfigBuilder {
        ConsumerConfig::builder(&self.url, &self.names.exchange, &self.names.queue)
            .with_name(format!("consumer-{}", self.names.suffix))
            .with_reconnect(quick_reconnect())
    }

    /// A relay of the harness's store with the default test configuration
    /// and an in-memory checkpoint.
    pub fn relay(&self) -> Relay<InMemoryStore, InMemoryProjectionStore<()>> {
        self.relay_with(InMemoryProjectionStore::new(), self.relay_config())
    }

    /// A relay of the harness's store keeping its checkpoint in `checkpoints`.
    pub fn relay_with<C: RelayCheckpoint>(
        &self,
        checkpoints: C,
        config: RelayConfigBuilder,
    ) -> Relay<InMemoryStore, C> {
        Relay::new(
            self.store.clone(),
            checkpoints,
            config.build().expect("valid relay config"),
        )
    }

    /// A consumer built from `config`, failing `failures` times on `poison`,
    /// with its queue declared (so it collects from now on).
    pub async fn declared_consumer(
        &self,
        config: ConsumerConfigBuilder,
        poison: Option<Uuid>,
        failures: u32,
    ) -> Consumer<Tracked> {
        let consumer = self.side.flaky_consumer(
            config.build().expect("valid consumer config"),
            poison,
            failures,
        );
        within(
            Duration::from_secs(60),
            "the queue to be declared",
            consumer.declare(),
        )
        .await
        .expect("declare the queue");
        consumer
    }

    /// The `n`th event of the store's global log.
    pub async fn store_event(&self, n: usize) -> RecordedEvent {
        let mut page = self
            .store
            .read_all(Position::START, n + 1)
            .await
            .expect("read the log");
        assert!(page.len() > n, "the log has no event {n}");
        page.swap_remove(n)
    }

    /// The default consumer, with its queue declared.
    pub async fn consumer(&self) -> Consumer<Tracked> {
        self.declared_consumer(self.consumer_config(), None, 0)
            .await
    }
}

/// A spawned task that is aborted when dropped (so a failing test stops it).
pub struct Task<T>(Option<JoinHandle<T>>);

impl<T> Task<T> {
    /// Aborts the task and waits until it stopped; true if it was cancelled
    /// (rather than having finished on its own).
    pub async fn kill(mut self) -> bool {
        let Some(handle) = self.0.take() else {
            return false;
        };
        handle.abort();
        handle.await.err().is_some_and(|e| e.is_cancelled())
    }

    /// Waits for the task to finish by itself.
    pub async fn join(mut self) -> T {
        self.0
            .take()
            .expect("not joined yet")
            .await
            .expect("the task did not panic")
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// Runs `relay` in a task.
pub fn spawn_relay<S, C>(
    relay: &Relay<S, C>,
) -> Task<Result<std::convert::Infallible, es_amqp::RelayError>>
where
    S: EventStore + Clone + 'static,
    C: RelayCheckpoint + 'static,
{
    let relay = relay.clone();
    Task(Some(tokio::spawn(async move { relay.run().await })))
}

/// Runs `consumer` in a task.
pub fn spawn_consumer<H: Handler + 'static>(
    consumer: &Consumer<H>,
) -> Task<Result<std::convert::Infallible, es_amqp::ConsumerError>> {
    let consumer = consumer.clone();
    Task(Some(tokio::spawn(async move { consumer.run().await })))
}

/// Runs `future` in a task.
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Task(Some(tokio::spawn(future)))
}

/// A connection of its own to the broker and a channel on it in confirm
/// mode, for publishing hand-made messages.
pub async fn confirming_channel() -> (Connection, Channel) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    (connection, channel)
}

/// Publishes a hand-made message (`mandatory`) and waits until the broker
/// confirmed it and routed it to a queue.
pub async fn publish_routed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) {
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirmation.is_ack());
    assert_eq!(
        confirmation.take_message(),
        None,
        "the message was unroutable"
    );
}
