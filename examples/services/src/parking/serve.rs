//! `parking serve`: Parking's RabbitMQ consumer, in server mode.
//!
//! Declares its durable quorum queue (bound to Booking's exchange, with a
//! dead-letter queue) before anything else, so events published while Parking
//! is down wait in the queue. Each delivery is applied by the
//! [`BookingFollower`] in one SQLite transaction that also records the event
//! id, and acknowledged only after that commit: a redelivery changes nothing,
//! and a crash loses nothing. `GET /health` answers once the queue exists.

use es_amqp::{Consumer, ConsumerConfig, ConsumerError, IdempotentHandler, SqliteIdempotencyStore};

use super::booking_follower::{BookingFollower, BOOKING_FOLLOWER};
use crate::common::{broker_args::BrokerArgs, health, shutdown};

/// What `serve` consumes and listens on.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The broker and Booking's exchange.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Parking's durable queue of booking events.
    #[arg(long, env = "PARKING_QUEUE", default_value = "parking.booking_events")]
    pub queue: String,
    /// The port of GET /health.
    #[arg(long, env = "PARKING_HTTP_PORT", default_value_t = 8001)]
    pub port: u16,
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
    let processed = SqliteIdempotencyStore::new(pool);
    processed.migrate().await.map_err(ServeError::Database)?;
    let config = ConsumerConfig::builder(&args.broker.amqp_url, &args.broker.exchange, &args.queue)
        .with_binding_keys(["booking.#"])
        .build()
        .map_err(|error| ServeError::Declare {
            queue: args.queue.clone(),
            source: ConsumerError::Config(error),
        })?;
    let consumer = Consumer::new(
        config,
        IdempotentHandler::new(BOOKING_FOLLOWER, processed, BookingFollower),
    );
    consumer
        .declare()
        .await
        .map_err(|source| ServeError::Declare {
            queue: args.queue.clone(),
            source,
        })?;
    let listener = health::bind(args.port).await?;
    tracing::info!(port = args.port, queue = %args.queue, "parking serve: consumer and /health running");
    tokio::select! {
        result = consumer.run() => match result {
            Ok(never) => match never {},
            Err(error) => Err(ServeError::Consumer(error)),
        },
        result = health::serve(listener, "parking", axum::Router::new()) => match result {
            Ok(()) => Ok(()),
            Err(error) => Err(ServeError::HealthServer(error)),
        },
        () = shutdown::requested() => {
            tracing::info!("parking serve: stopping");
            Ok(())
        }
    }
}
