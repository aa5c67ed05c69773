//! `booking serve`: the Booking service's long-running side.
//!
//! Three tasks run until Ctrl-C or SIGTERM: the projector (follows the event
//! store and keeps the booking projection current), the relay (publishes the
//! event store to RabbitMQ with publisher confirms; the event store is the
//! outbox, so there is no dual write), and the HTTP server: `GET /health`,
//! `/metrics`, and in server mode `/ready` and the bookings API (`POST
//! /bookings` and the other commands, which join the caller's `traceparent`,
//! and `GET /bookings`, `/bookings/{id}`, `/bookings/{id}/events`; see
//! [`http_commands`](super::http_commands)); every error answer is a
//! problem+json body ([`problem`](crate::common::problem)). Any number of instances may run at once (a
//! rolling restart runs two): the projector and the relay each run under a
//! lease ([`es_lease::Leader::serve`]), so on every name one instance leads
//! and the others wait as standbys; a worker that fails or loses its lease
//! goes back to standby and another instance (or this one, later) takes
//! over from the checkpoint. `/health` shows each worker's role, and the log
//! shows the projector's catch-up (events done, rate, time left) each time
//! it takes the lead. `serve` exits non-zero only when `/health` cannot
//! serve.
//!
//! In server mode the stores and the leases are on PostgreSQL; embedded, on
//! the SQLite files of the data directory (instances on one machine share
//! it, the leases in a file of their own). The same loop serves both.

use std::{pin::pin, time::Duration};

use es_amqp::{lapin, Relay, RelayCheckpoint, RelayConfig, RelayError, RoutingKey};
use es_core::projection::CatchUpProgress;
use es_core::{dcb::DcbStore, CheckpointStore, Position, Projection, RecordedEvent};
use es_lease::{Leader, LeaderConfig, LeaseError, LeaseStore};
use es_progress::{ProgressView, DEFAULT_LINE_INTERVAL};
use tokio::sync::watch;

use super::{projection::BookingProjection, service::BookingService};
use crate::common::{
    broker_args::BrokerArgs, health, readiness::ReadinessArgs, shutdown,
    worker_status::WorkerStatus,
};

/// The relay's name: the key of its checkpoint in the event store database,
/// and the name of its lease.
pub const RELAY_NAME: &str = "booking-relay";

/// The projector's lease name: the projection's own name (its checkpoint's
/// key), so `es projections` shows which instance runs it.
pub const PROJECTOR_LEASE: &str = super::projection::BOOKING_PROJECTION;

/// How long a worker asked to stop (lease lost, shutdown) may take to save
/// its checkpoint.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long start-up waits for the broker.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// What `serve` listens and publishes to.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The broker and the exchange to publish to.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// The port of GET /health, /ready, /metrics and the bookings API.
    #[arg(long, env = "BOOKING_HTTP_PORT", default_value_t = 8000)]
    pub port: u16,
    /// The lag limits of GET /ready.
    #[command(flatten)]
    pub readiness: ReadinessArgs,
    /// A leading worker (projector, relay) with work in hand and no
    /// progress for this long (seconds) gives up its lease to a standby;
    /// /health and /ready report it meanwhile.
    #[arg(long, env = "STALL_TIMEOUT_SECONDS", default_value_t = 5.0)]
    pub stall_timeout_seconds: f64,
}

impl ServeArgs {
    /// The stall timeout (a negative or non-finite value is refused when the
    /// leaders are built).
    fn stall_timeout(&self) -> Result<Duration, LeaseError> {
        Duration::try_from_secs_f64(self.stall_timeout_seconds).map_err(|_| {
            LeaseError::InvalidSetting {
                setting: "stall timeout",
                value: Duration::ZERO,
                reason: format!(
                    "{} s is not a duration (STALL_TIMEOUT_SECONDS)",
                    self.stall_timeout_seconds
                ),
            }
        })
    }
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
    /// The relay's configuration was refused.
    #[error("the relay to RabbitMQ stopped: {0}")]
    Relay(#[source] RelayError),
    /// A lease name, holder or setting was refused.
    #[error("cannot compete for the {worker} lease: {source}")]
    Lease {
        /// The worker's lease name.
        worker: &'static str,
        /// Why.
        #[source]
        source: LeaseError,
    },
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

/// Runs the projector, the relay (its checkpoint in `relay_checkpoints`; each
/// under its lease in `leases`) and /health, with the `routes` that
/// `operations` makes from the relay's saved checkpoint beside it, until
/// asked to stop (check the broker with [`check_broker`] first). On
/// shutdown, a leading worker saves its checkpoint and releases its lease,
/// so a standby instance takes over at once.
pub async fn serve<S, C, R, L>(
    service: &BookingService<S, C>,
    store: &S,
    relay_checkpoints: R,
    leases: L,
    args: &ServeArgs,
    operations: impl FnOnce(watch::Receiver<Position>, Vec<WorkerStatus>) -> axum::Router,
) -> Result<(), ServeError>
where
    S: DcbStore + Clone + Send + Sync + 'static,
    C: CheckpointStore + Send + Sync + 'static,
    BookingProjection: Projection<C::Transaction> + Send + Sync,
    R: RelayCheckpoint + 'static,
    L: LeaseStore + Clone,
{
    let listener = health::bind(args.port).await?;
    let relay = Relay::new(
        store.clone(),
        relay_checkpoints,
        RelayConfig::builder(&args.broker.amqp_url, RELAY_NAME, &args.broker.exchange)
            .with_routing_key(routing_key())
            .build()
            .map_err(|error| ServeError::Relay(RelayError::Config(error)))?,
    );
    let holder = format!("booking-{}-port-{}", std::process::id(), args.port);
    let stall_timeout = args.stall_timeout().map_err(|source| ServeError::Lease {
        worker: PROJECTOR_LEASE,
        source,
    })?;
    let relay_leader = leader(&leases, RELAY_NAME, &holder, stall_timeout)?;
    let projector_leader = leader(&leases, PROJECTOR_LEASE, &holder, stall_timeout)?;
    let statuses = vec![
        WorkerStatus::new(
            RELAY_NAME,
            relay_leader.role(),
            relay.liveness().clone(),
            stall_timeout,
        ),
        WorkerStatus::new(
            PROJECTOR_LEASE,
            projector_leader.role(),
            service.projector().liveness().clone(),
            stall_timeout,
        ),
    ];
    let (stop, stopping) = watch::channel(false);
    let stopped = |mut stopping: watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let mut workers = pin!(async {
        tokio::join!(
            relay_leader.serve(stopped(stopping.clone()), &relay),
            projector_leader.serve(stopped(stopping.clone()), service.projector()),
        )
    });
    let routes = operations(relay.saved(), statuses.clone());
    let mut progress = pin!(log_catch_up(service.projector().catch_up_progress()));
    tracing::info!(port = args.port, %holder, exchange = %args.broker.exchange, "booking serve: projector and relay competing for their leases; /health, /ready and /metrics running");
    tokio::select! {
        _ = &mut workers => Ok(()),
        () = &mut progress => Ok(()),
        result = health::serve(listener, "booking", statuses, routes) => match result {
            Ok(()) => Ok(()),
            Err(error) => Err(ServeError::HealthServer(error)),
        },
        () = shutdown::requested() => {
            tracing::info!("booking serve: stopping");
            stop.send_replace(true);
            workers.await;
            Ok(())
        }
    }
}

/// Logs the projector's catch-ups (each time it takes the lead) as lines;
/// never returns.
async fn log_catch_up(progress: watch::Receiver<Option<CatchUpProgress>>) {
    let mut view = ProgressView::log_with(PROJECTOR_LEASE, DEFAULT_LINE_INTERVAL, |line| {
        tracing::info!("catch-up: {line}");
    });
    es_progress::follow(progress, &mut view).await;
    std::future::pending::<()>().await;
}

/// A leader loop for the worker `name` of this instance.
fn leader<L: LeaseStore + Clone>(
    leases: &L,
    name: &'static str,
    holder: &str,
    stall_timeout: Duration,
) -> Result<Leader<L>, ServeError> {
    let failed = |source| ServeError::Lease {
        worker: name,
        source,
    };
    let config = LeaderConfig::new()
        .with_stop_grace(STOP_GRACE)
        .and_then(|config| config.with_stall_timeout(stall_timeout))
        .map_err(failed)?;
    Leader::new(leases.clone(), name, holder, config).map_err(failed)
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
