//! The consumer: events from a durable queue, acknowledged after the work.
//!
//! It declares its topology on every (re)connect (see [`topology`]
//! for the queue it declares), takes up to [`ConsumerConfig::prefetch`]
//! unacknowledged messages at a time and hands them to the
//! [`Handler`] **one at a time, in queue order**. A message is acknowledged
//! only after the handler returned `Ok` (its work is committed). A lost
//! connection means the broker redelivers every unacknowledged message, and
//! the consumer reconnects with backoff on its own.
//!
//! # Ordering, retries and dead letters
//!
//! The relay publishes the global log in order on one channel, so the queue
//! holds each stream's events in version order (plus, after a relay
//! reconnect, republished duplicates of events already sent). With a single
//! active consumer per queue (the default) and sequential handling:
//!
//! * A failing handler is retried **in place** — the message keeps its place
//!   and nothing behind it is handled meanwhile — up to
//!   [`ConsumerConfig::max_attempts`] times with [`ConsumerConfig::retry`]
//!   backoff. A retry therefore never lets a later event of the same stream
//!   overtake an earlier one. (Retrying by nack-and-requeue would let the
//!   prefetched messages behind it through first.)
//! * After the last attempt the message is published, with publisher
//!   confirms, to the dead-letter exchange with the failure recorded in
//!   [`HEADER_FAILURE`](crate::wire::HEADER_FAILURE) and
//!   [`HEADER_ATTEMPTS`](crate::wire::HEADER_ATTEMPTS), and only then
//!   acknowledged; the messages behind it keep flowing. From then on the
//!   stream has a gap for this handler: the next event of that stream is
//!   handled even though an earlier one was not. An
//!   [`IdempotentHandler`](crate::IdempotentHandler) passes the stream's
//!   last applied version to the handler so it can notice such a gap and
//!   refuse the event with [`NotYet`] (below), or accept it.
//! * A handler that cannot apply an event *yet* — an earlier event of its
//!   stream was not applied (a dead letter moved back arrives after the
//!   events that followed it) — returns [`NotYet`] as its error. The
//!   [`IdempotentHandler`](crate::IdempotentHandler) rolls its transaction
//!   back, so nothing is recorded as processed, and the consumer retries the
//!   event in place with the same attempts and backoff (in case another
//!   instance is applying what it waits for). After the last attempt it
//!   *parks* the event: dead-letters it with the [`NotYet`] text (the
//!   version it waits for) in
//!   [`HEADER_FAILURE`](crate::wire::HEADER_FAILURE), counted in
//!   [`ConsumerStats::parked`]. Retrying in place for longer could not help:
//!   with one active consumer handling in order, the event it waits for
//!   sits behind it in the same queue. Once that event was applied, moving
//!   the dead letters back in per-stream version order (`es dead-letters
//!   redrive`) applies the parked one.
//! * A message that cannot be decoded (not JSON, missing or malformed `es-*`
//!   headers, no event id) is dead-lettered at once: retrying cannot help.
//! * A message that crashes the whole process is redelivered on restart; on
//!   quorum queues [`ConsumerConfig::delivery_limit`] (default 20) makes the
//!   broker dead-letter it after that many deliveries instead of looping.
//! * Redelivered and republished messages reach the handler again: the
//!   handler must be idempotent (see [`IdempotentHandler`](crate::IdempotentHandler)).
//!
//! # A connection that breaks without a word
//!
//! Every wait on the broker is bounded: opening a connection by
//! [`ConsumerConfig::connect_timeout`], each request (declare, acknowledge,
//! dead-letter) by [`ConsumerConfig::request_timeout`], and after that long
//! without a delivery the consumer asks the broker about its queue. lapin
//! can miss the end of a connection that was reset (a handshake that never
//! completes, an idle consumer whose stream neither ends nor errs); these
//! bounds turn such a hang into an ordinary reconnect, and the broker
//! redelivers whatever was not acknowledged.
//!
//! # Throughput
//!
//! One queue is handled one message at a time, so its throughput is bounded
//! by the handler's latency (a database transaction per event). To go
//! further, split the events over several queues by binding key (for
//! example by aggregate type): each queue keeps its own order. Or split one
//! queue's events by stream id over the partitions of a
//! [`ConsumerGroup`](crate::ConsumerGroup): each stream keeps its order.

pub(crate) mod config;
mod dead_letter;
mod delivery;
pub(crate) mod error;
pub(crate) mod group;
pub(crate) mod handler;
mod live;
pub(crate) mod not_yet;
pub(crate) mod stats;
mod subscribed;
pub(crate) mod topology;

use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use es_telemetry::metrics::{self, Component};
use futures::StreamExt;
use lapin::{
    options::{BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::FieldTable,
};

use self::{dead_letter::DeadLetters, live::Live, subscribed::Subscribed};
use crate::{
    config_error::short, connection, ConsumerConfig, ConsumerError, ConsumerStats, Handler,
};

/// Consumes events from a durable queue into a [`Handler`].
///
/// ```no_run
/// # async fn demo() -> Result<(), es_amqp::ConsumerError> {
/// use es_amqp::{Consumer, ConsumerConfig, Handler};
/// use es_core::{async_trait, BoxError, RecordedEvent};
///
/// struct Print;
/// #[async_trait]
/// impl Handler for Print {
///     async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
///         println!("{} {}", event.stream_id, event.event_type);
///         Ok(())
///     }
/// }
///
/// let config = ConsumerConfig::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "BOOKING_TX_EVENT", "parking.booking-events")
///     .with_binding_keys(["booking.#"])
///     .build()?;
/// let consumer = Consumer::new(config, Print);
/// consumer.declare().await?; // the queue now collects events even while nobody consumes
/// consumer.run().await?;     // returns only on a configuration error
/// # Ok(()) }
/// ```
pub struct Consumer<H> {
    config: ConsumerConfig,
    handler: Arc<H>,
    stats: Arc<ConsumerStats>,
    subscribed: Arc<AtomicBool>,
}

impl<H> Clone for Consumer<H> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            handler: self.handler.clone(),
            stats: self.stats.clone(),
            subscribed: self.subscribed.clone(),
        }
    }
}

/// Runs `run` (which only ever returns an error) until `shutdown` completes.
pub(crate) async fn until(
    run: impl std::future::Future<Output = Result<Infallible, ConsumerError>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ConsumerError> {
    tokio::select! {
        result = run => match result {
            Ok(never) => match never {},
            Err(error) => Err(error),
        },
        () = shutdown => Ok(()),
    }
}

/// Waits at most `config`'s [`ConsumerConfig::request_timeout`] for
/// `request` (named `operation` in the timeout error).
pub(crate) async fn bounded<T>(
    config: &ConsumerConfig,
    operation: &'static str,
    request: impl std::future::Future<Output = Result<T, ConsumerError>>,
) -> Result<T, ConsumerError> {
    config.link().bounded(operation, request).await
}

impl<H: Handler> Consumer<H> {
    /// A consumer feeding `handler`.
    pub fn new(config: ConsumerConfig, handler: H) -> Self {
        Self {
            config,
            handler: Arc::new(handler),
            stats: Arc::default(),
            subscribed: Arc::default(),
        }
    }

    /// A consumer sharing `handler` and `stats` with others (the partitions
    /// of a consumer group).
    pub(crate) fn sharing(
        config: ConsumerConfig,
        handler: Arc<H>,
        stats: Arc<ConsumerStats>,
    ) -> Self {
        Self {
            config,
            handler,
            stats,
            subscribed: Arc::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// What this consumer (and its clones) did so far.
    pub fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    /// Whether this consumer (or a clone) holds a subscription to its queue
    /// right now: connected, topology declared, `basic.consume` accepted.
    /// On a single-active-consumer queue the broker delivers to one
    /// subscriber at a time, so a subscribed consumer may be the active one
    /// or a waiting standby; an unsubscribed one is starting, waiting to
    /// subscribe, or reconnecting.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    /// Declares the exchange, queue, bindings and dead-letter queue, then
    /// disconnects. After this the queue collects events even while no
    /// consumer runs.
    pub async fn declare(&self) -> Result<(), ConsumerError> {
        let connection = connection::connect::<ConsumerError>(
            self.config.amqp_url(),
            self.config.name(),
            self.config.connect_timeout(),
        )
        .await?;
        let result = self
            .bounded("declare the topology", async {
                let channel = connection.create_channel().await?;
                topology::declare(&channel, &self.config).await
            })
            .await;
        connection::close(&connection).await;
        result
    }

    /// Consumes forever, reconnecting with backoff after any failure.
    ///
    /// Returns only if the very first topology declaration fails (a
    /// configuration error, such as a queue that exists with other
    /// arguments); later failures are logged and retried.
    pub async fn run(&self) -> Result<Infallible, ConsumerError> {
        let mut delays = self.config.reconnect().delays();
        let mut declared_once = false;
        loop {
            let before = self.stats.handled() + self.stats.dead_lettered();
            let error = self.session(&mut declared_once).await;
            if matches!(error, ConsumerError::Topology(_)) && !declared_once {
                tracing::error!(queue = %self.config.queue(), %error, "consumer stopped");
                return Err(error);
            }
            if self.stats.handled() + self.stats.dead_lettered() > before {
                delays = self.config.reconnect().delays();
            }
            let delay = delays.next().unwrap_or(self.config.reconnect().max());
            tracing::warn!(queue = %self.config.queue(), %error, ?delay, "consumer reconnecting");
            self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
            metrics::reconnected(Component::Consumer, self.config.queue());
            tokio::time::sleep(delay).await;
        }
    }

    /// Like [`run`](Self::run), but returns `Ok` once `shutdown` completes.
    ///
    /// The message being handled at that moment is not acknowledged: the
    /// broker redelivers it (and everything prefetched) to the next consumer,
    /// ahead of later messages; an idempotent handler skips it if its work
    /// had committed.
    pub async fn run_until(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ConsumerError> {
        until(self.run(), shutdown).await
    }

    async fn session(&self, declared_once: &mut bool) -> ConsumerError {
        let connection = match self.config.link().connect::<ConsumerError>().await {
            Ok(connection) => connection,
            Err(error) => return error,
        };
        let mut live = Live {
            connection: Some(connection),
            deliveries: None,
        };
        let error = match live.connection.as_ref() {
            Some(connection) => match self
                .consume(connection, &mut live.deliveries, declared_once)
                .await
            {
                Ok(never) => match never {},
                Err(error) => error,
            },
            None => ConsumerError::Cancelled,
        };
        if let Some(connection) = &live.connection {
            connection::close(connection).await;
        }
        error
    }

    /// Waits at most [`ConsumerConfig::request_timeout`] for `request`.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<T, ConsumerError>>,
    ) -> Result<T, ConsumerError> {
        bounded(&self.config, operation, request).await
    }

    async fn consume(
        &self,
        connection: &lapin::Connection,
        slot: &mut Option<lapin::Consumer>,
        declared_once: &mut bool,
    ) -> Result<Infallible, ConsumerError> {
        let channel = self
            .bounded("open a channel", async {
                Ok(connection.create_channel().await?)
            })
            .await?;
        self.bounded(
            "declare the topology",
            topology::declare(&channel, &self.config),
        )
        .await?;
        *declared_once = true;
        let dead_letters = self
            .bounded("open the dead-letter channel", async {
                let channel = connection.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                Ok(DeadLetters {
                    channel,
                    frame_max: usize::try_from(connection.configuration().frame_max())
                        .unwrap_or(usize::MAX),
                })
            })
            .await?;
        let queue = short("queue", self.config.queue())?;
        let tag = format!("{}-{}", self.config.name(), uuid::Uuid::new_v4());
        let tag = short("consumer tag", &tag).unwrap_or_else(|_| "es-amqp".into());
        let deliveries = slot.insert(
            self.bounded("start consuming", async {
                channel
                    .basic_qos(self.config.prefetch(), BasicQosOptions::default())
                    .await?;
                Ok(channel
                    .basic_consume(
                        queue.clone(),
                        tag,
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?)
            })
            .await?,
        );
        tracing::info!(queue = %self.config.queue(), prefetch = self.config.prefetch(), "consumer started");
        let _subscribed = Subscribed::new(&self.subscribed);
        loop {
            match tokio::time::timeout(self.config.request_timeout(), deliveries.next()).await {
                Ok(Some(delivery)) => self.process(&dead_letters, delivery?).await?,
                Ok(None) => return Err(ConsumerError::Cancelled),
                // Idle: make sure the broker still answers on this
                // connection (see `ConsumerConfig::request_timeout`).
                Err(_) => {
                    self.bounded("check the queue while idle", async {
                        let passive = QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        };
                        channel
                            .queue_declare(queue.clone(), passive, FieldTable::default())
                            .await?;
                        Ok(())
                    })
                    .await?;
                }
            }
        }
    }
}
