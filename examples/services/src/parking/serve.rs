//! `parking serve`: Parking's RabbitMQ consumer, in server mode.
//!
//! Declares its durable quorum queue (bound to Booking's exchange, with a
//! dead-letter queue) before anything else, so events published while Parking
//! is down wait in the queue. Each delivery is applied by the
//! [`BookingFollower`] in one SQLite transaction that also records the event
//! id, and acknowledged only after that commit: a redelivery changes nothing,
//! and a crash loses nothing. `GET /health` (liveness) answers once the
//! queue exists; beside it `GET /metrics` (Prometheus text: the consumer's
//! counters and this process's subscription to each partition) and
//! `GET /ready` (the SQLite database, the broker, the consumer group holding
//! its preferred partitions, a handler not stuck; 503 naming what fails),
//! and the slots (`GET /slots`, `GET /slots/{id}`, see [`http_queries`]).
//! `/health` answers 503 while the handler has had an event in hand for
//! 8 s without applying one (a peer process frozen inside a write holds
//! the shared SQLite file's write lock: nobody can take it back).
//!
//! To scale out, run K processes (`--instance 0..K-1 --instances K`) on N
//! partitions (`--partitions N`, the same N everywhere): the queue becomes a
//! consumer group of N partition queues `{queue}.p{n}` split by booking id,
//! each process active on the partitions `n mod K == instance` and standby
//! on the others, taking them over when their process dies. Each booking's
//! events stay in order; events of different bookings (even on the same
//! slot) may be applied in a different order than Booking recorded them.
//! Change N only after draining the partitions (see `es_amqp::ConsumerGroup`);
//! a run on partitions warns at start when the single queue of an earlier
//! run without them is still there ([`old_queue`]).

use es_amqp::{
    ConsumerConfig, ConsumerError, ConsumerGroup, ConsumerGroupConfig, IdempotentHandler,
    SqliteIdempotencyStore,
};

use super::{
    booking_follower::{BookingFollower, BOOKING_FOLLOWER},
    http_queries, old_queue, operations,
    watched_handler::WatchedHandler,
};
use crate::common::{broker_args::BrokerArgs, health, shutdown, worker_status::WorkerStatus};

/// How long the consumer's handler may have an event in hand without
/// applying one before `/health` and `/ready` report it stuck: above
/// SQLite's 5 s busy timeout, so one wait for the write lock that ends in
/// time is not a stall, while a peer frozen inside a write is reported.
const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// What `serve` consumes and listens on.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The broker and Booking's exchange.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Parking's durable queue of booking events.
    #[arg(long, env = "PARKING_QUEUE", default_value = "parking.booking_events")]
    pub queue: String,
    /// The port of GET /health, /ready, /metrics and /slots.
    #[arg(long, env = "PARKING_HTTP_PORT", default_value_t = 8001)]
    pub port: u16,
    /// Partitions of the queue, split by booking id (1 to 64; 1: one queue).
    #[arg(long, env = "PARKING_PARTITIONS", default_value_t = 1)]
    pub partitions: u16,
    /// This process's index among the --instances processes sharing the partitions.
    #[arg(long, env = "PARKING_INSTANCE", default_value_t = 0)]
    pub instance: u16,
    /// How many processes share the partitions.
    #[arg(long, env = "PARKING_INSTANCES", default_value_t = 1)]
    pub instances: u16,
}

/// Why `parking serve` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Parking's database could not record processed events.
    #[error("cannot prepare the parking database for the consumer: {0}")]
    Database(#[source] sqlx::Error),
    /// The queue could not be declared (the broker is unreachable, or the
    /// queue exists with other settings).
    #[error("cannot declare queue {queue:?} on RabbitMQ: {source}")]
    Declare {
        /// The queue.
        queue: String,
        /// What went wrong.
        #[source]
        source: ConsumerError,
    },
    /// The inbox consumer name was refused.
    #[error("the inbox consumer name is refused: {0}")]
    ConsumerName(#[source] es_core::InvalidInput),
    /// The consumer stopped on an error it cannot recover from.
    #[error("the RabbitMQ consumer stopped: {0}")]
    Consumer(#[source] ConsumerError),
    /// The health endpoint could not listen.
    #[error(transparent)]
    Health(#[from] health::HealthError),
    /// The health endpoint failed.
    #[error("the /health server failed: {0}")]
    HealthServer(#[source] std::io::Error),
}

/// Consumes booking events into `pool`'s database until asked to stop.
pub async fn serve(pool: sqlx::SqlitePool, args: &ServeArgs) -> Result<(), ServeError> {
    let processed = SqliteIdempotencyStore::new(pool.clone());
    processed.migrate().await.map_err(ServeError::Database)?;
    let declare_error = |source| ServeError::Declare {
        queue: args.queue.clone(),
        source,
    };
    let config = ConsumerConfig::builder(&args.broker.amqp_url, &args.broker.exchange, &args.queue)
        .with_binding_keys(["booking.#"])
        .build()
        .and_then(|consumer| {
            ConsumerGroupConfig::builder(consumer)
                .with_partitions(args.partitions)
                .with_instance(args.instance, args.instances)
                .build()
        })
        .map_err(|error| declare_error(ConsumerError::Config(error)))?;
    let handler = WatchedHandler::new(
        IdempotentHandler::new(BOOKING_FOLLOWER, processed, BookingFollower)
            .map_err(ServeError::ConsumerName)?,
    );
    let workers = vec![WorkerStatus::unleased(
        BOOKING_FOLLOWER,
        handler.liveness().clone(),
        STALL_TIMEOUT,
    )];
    let consumer = ConsumerGroup::new(config, handler);
    consumer.declare().await.map_err(declare_error)?;
    if args.partitions > 1 {
        if let Some((messages, consumers)) =
            old_queue::leftover(&args.broker.amqp_url, &args.queue).await
        {
            tracing::warn!(
                "{}",
                old_queue::warning(&args.queue, messages, consumers, args.partitions)
            );
        }
    }
    let listener = health::bind(args.port).await?;
    let routes = operations::routes(
        pool.clone(),
        &consumer,
        workers.clone(),
        &args.broker.amqp_url,
    )
    .merge(http_queries::routes(pool));
    tracing::info!(
        port = args.port,
        queue = %args.queue,
        partitions = args.partitions,
        instance = args.instance,
        instances = args.instances,
        "parking serve: consumer, /health, /ready and /metrics running"
    );
    tokio::select! {
        result = consumer.run() => match result {
            Ok(never) => match never {},
            Err(error) => Err(ServeError::Consumer(error)),
        },
        result = health::serve_with_partitions(listener, "parking", workers, partition_roles(&consumer), routes) => match result {
            Ok(()) => Ok(()),
            Err(error) => Err(ServeError::HealthServer(error)),
        },
        () = shutdown::requested() => {
            tracing::info!("parking serve: stopping");
            Ok(())
        }
    }
}

/// Each partition queue of `group` with this process's role on it, for
/// `/health`.
fn partition_roles<H>(
    group: &ConsumerGroup<H>,
) -> impl Fn() -> Vec<(String, &'static str)> + Clone + Send + Sync + 'static
where
    H: es_amqp::Handler + 'static,
{
    let group = group.clone();
    move || {
        group
            .partition_states()
            .into_iter()
            .map(|state| {
                let role = if state.subscribed {
                    state.role()
                } else {
                    "unsubscribed"
                };
                (state.queue, role)
            })
            .collect()
    }
}
