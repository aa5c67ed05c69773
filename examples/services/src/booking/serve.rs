//! `booking serve`: the Booking service's long-running side, in server mode.
//!
//! Three tasks run until Ctrl-C or SIGTERM: the projector (follows the event
//! store and keeps the booking projection current), the relay (publishes the
//! event store to RabbitMQ with publisher confirms; the event store is the
//! outbox, so there is no dual write), and `GET /health`. If any of them
//! stops with an error, `serve` exits non-zero so that a supervisor restarts
//! it; the relay and the projector resume from their checkpoints.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use es_amqp::{lapin, Relay, RelayConfig, RelayError, RoutingKey};
use es_core::{ProjectionError, RecordedEvent};
use es_postgres::{PostgresCheckpoints, PostgresStore};

use super::operations;
use super::service::BookingService;
use crate::common::{broker_args::BrokerArgs, health, readiness::ReadinessArgs, shutdown};

/// The relay's name: the key of its checkpoint in the event store database.
pub const RELAY_NAME: &str = "booking-relay";

/// The longest wait between two restarts of the projector or the relay.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);

/// How long start-up waits for the broker.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// What `serve` listens and publishes to.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The broker and the exchange to publish to.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// The port of GET /health, /ready and /metrics.
    #[arg(long, env = "BOOKING_HTTP_PORT", default_value_t = 8000)]
    pub port: u16,
    /// The lag limits of GET /ready.
    #[command(flatten)]
    pub readiness: ReadinessArgs,
}

/// Why `booking serve` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The broker did not answer at start-up.
    #[error("cannot connect to RabbitMQ at {url}: {reason}")]
    Broker {
        /// The URL, without its password.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The health endpoint could not listen.
    #[error(transparent)]
    Health(#[from] health::HealthError),
    /// The health endpoint failed.
    #[error("the /health server failed: {0}")]
    HealthServer(#[source] std::io::Error),
    /// The projector failed.
    #[error("the booking projector stopped: {0}")]
    Projector(#[source] ProjectionError),
    /// The relay failed in a way retrying cannot fix.
    #[error("the relay to RabbitMQ stopped: {0}")]
    Relay(#[source] RelayError),
}

/// The seed's routing keys: `booking.create` for a new booking,
/// `booking.status_changed` for the rest.
pub fn routing_key() -> RoutingKey {
    RoutingKey::new(|event: &RecordedEvent| {
        let action = match event.event_type.as_str() {
            "BookingCreated" => "create",
            _ => "status_changed",
        };
        format!("{}.{action}", event.stream_id.category())
    })
}

/// Runs the projector, the relay and /health until asked to stop (check the
/// broker with [`check_broker`] first).
pub async fn serve(
    service: &BookingService<PostgresStore, PostgresCheckpoints>,
    store: &PostgresStore,
    args: &ServeArgs,
) -> Result<(), ServeError> {
    let listener = health::bind(args.port).await?;
    let relay = Relay::new(
        store.clone(),
        store.checkpoints(),
        RelayConfig::builder(&args.broker.amqp_url, RELAY_NAME, &args.broker.exchange)
            .with_routing_key(routing_key())
            .build()
            .map_err(|error| ServeError::Relay(RelayError::Config(error)))?,
    );
    let routes = operations::routes(
        service,
        store,
        relay.saved(),
        &args.broker.amqp_url,
        args.readiness,
    );
    tracing::info!(port = args.port, exchange = %args.broker.exchange, "booking serve: projector, relay, /health, /ready and /metrics running");
    tokio::select! {
        error = projector_until_stopped(service) => Err(ServeError::Projector(error)),
        error = relay_until_fatal(&relay) => Err(ServeError::Relay(error)),
        result = health::serve(listener, "booking", routes) => match result {
            Ok(()) => Ok(()),
            Err(error) => Err(ServeError::HealthServer(error)),
        },
        () = shutdown::requested() => {
            tracing::info!("booking serve: stopping");
            Ok(())
        }
    }
}

/// Runs the projector, starting it again with backoff after a failure (the
/// database restarting, a connection dropped): each batch commits with its
/// checkpoint, so a restart resumes where the last commit left off and
/// applies nothing twice. Returns only if the runner says it stopped.
async fn projector_until_stopped(
    service: &BookingService<PostgresStore, PostgresCheckpoints>,
) -> ProjectionError {
    let outcome = (|| service.projector().run())
        .retry(restart_backoff(Duration::from_millis(250)))
        .when(|error| !matches!(error, ProjectionError::Stopped))
        .notify(|error, delay| {
            tracing::warn!(%error, ?delay, "the booking projector failed; restarting it");
        })
        .await;
    match outcome {
        Ok(()) => ProjectionError::Stopped,
        Err(error) => error,
    }
}

/// Runs the relay; an event nobody is bound for yet (Parking's queue not
/// declared) is retried with backoff instead of stopping the service.
async fn relay_until_fatal(relay: &Relay<PostgresStore, PostgresCheckpoints>) -> RelayError {
    let outcome = (|| relay.run())
        .retry(restart_backoff(Duration::from_millis(500)))
        .when(|error| matches!(error, RelayError::Unroutable { .. }))
        .notify(|error, delay| {
            tracing::warn!(%error, ?delay, "no queue is bound for booking events yet (start `parking serve` once to declare it); retrying");
        })
        .await;
    match outcome {
        Ok(never) => match never {},
        Err(error) => error,
    }
}

/// Restarting a worker: from `first`, doubled after each failure up to
/// [`MAX_RESTART_DELAY`], for as long as the failures last.
fn restart_backoff(first: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(MAX_RESTART_DELAY)
        .without_max_times()
}

/// Connects to the broker once, so that a wrong URL or a broker that is down
/// is a clear start-up error rather than a relay retrying in the background.
pub async fn check_broker(url: &str) -> Result<(), ServeError> {
    let failed = |reason: String| ServeError::Broker {
        url: es_amqp::redact_url(url),
        reason,
    };
    let connection = tokio::time::timeout(
        BROKER_TIMEOUT,
        lapin::Connection::connect(url, lapin::ConnectionProperties::default()),
    )
    .await
    .map_err(|_| failed(format!("no answer within {BROKER_TIMEOUT:?}")))?
    .map_err(|error| failed(error.to_string()))?;
    // Only a probe: the relay opens its own connection.
    let _ = connection.close(200, "probe".into()).await;
    Ok(())
}
