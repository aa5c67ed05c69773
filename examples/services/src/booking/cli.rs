//! The Booking CLI: its commands, how it picks its stores, and what it prints.
//!
//! With no environment set it runs embedded, on SQLite files in the data
//! directory. With `EVENT_STORE_DATABASE_URL` (and optionally a separate
//! `PROJECTOR_DATABASE_URL`) it runs on PostgreSQL, as the seed's services do.
//! Every command returns its output as text, so the `demo` example can run
//! the same commands in-process.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use es_core::{dcb::DcbStore, CheckpointStore, Projection};
use es_lease::LeaseError;
use es_postgres::{
    PostgresCheckpoints, PostgresConfig, PostgresError, PostgresLeaseConfig, PostgresLeases,
    PostgresStore,
};
use es_progress::{follow_while, ProgressView};
use es_sqlite::{SqliteCheckpoints, SqliteError, SqliteLeases, SqliteStore};
use uuid::Uuid;

use super::{
    history, http_commands, operations,
    projection::{BookingProjection, BOOKING_PROJECTION},
    read_model_lag::Answered,
    serve,
    service::{BookingService, BookingServiceError},
    views::{BookingRow, BookingViews},
};
use crate::common::{
    data_dir::{
        self, DataDirError, BOOKING_EVENTS_FILE, BOOKING_LEASES_FILE, BOOKING_PROJECTION_FILE,
    },
    key_value, metrics_endpoint,
    service_main::ServiceCli,
    trace,
    uuid_arg::parse_uuid,
};

/// The Booking service of the event-sourcing example.
///
/// Records booking requests, reservations and completions as events, and
/// answers queries from a projection of them. Runs embedded on SQLite files
/// unless EVENT_STORE_DATABASE_URL points it at PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "booking", version)]
pub struct Cli {
    /// Where the stores are.
    #[command(flatten)]
    pub stores: StoreArgs,
    /// The caller's W3C trace context: a command joins that trace (a
    /// malformed value is ignored, with a warning, and a new trace started).
    #[arg(long, global = true, env = "TRACEPARENT")]
    pub traceparent: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the Booking stores are.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Directory of the SQLite files (embedded mode).
    #[arg(long, global = true, env = "ES_DATA_DIR", default_value = data_dir::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// PostgreSQL event store; setting it selects server mode.
    #[arg(
        long,
        global = true,
        env = "EVENT_STORE_DATABASE_URL",
        hide_env_values = true
    )]
    pub event_store_url: Option<String>,
    /// PostgreSQL projector database (server mode; default: the event store's).
    #[arg(
        long,
        global = true,
        env = "PROJECTOR_DATABASE_URL",
        hide_env_values = true
    )]
    pub projector_url: Option<String>,
}

/// The Booking commands (the seed's names; kebab-case works too).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Request a booking of a parking slot; prints the new booking's id.
    #[command(
        name = "create_booking_request",
        visible_alias = "create-booking-request"
    )]
    CreateBookingRequest {
        /// The parking slot's uuid (from `parking create_parking_slot`).
        #[arg(value_parser = parse_uuid)]
        parking_slot_ref_no: Uuid,
    },
    /// Reserve a created booking; prints its id.
    #[command(name = "reserve_booking", visible_alias = "reserve-booking")]
    ReserveBooking {
        /// The booking's id.
        #[arg(value_parser = parse_uuid)]
        id: Uuid,
    },
    /// Complete a reserved booking; prints its id.
    #[command(name = "complete_booking", visible_alias = "complete-booking")]
    CompleteBooking {
        /// The booking's id.
        #[arg(value_parser = parse_uuid)]
        id: Uuid,
    },
    /// Show a booking from the projection.
    #[command(name = "get_booking_details", visible_alias = "get-booking-details")]
    GetBookingDetails {
        /// The booking's id.
        #[arg(value_parser = parse_uuid)]
        id: Uuid,
    },
    /// List every booking from the projection, one per line.
    #[command(name = "get_booking_list", visible_alias = "get-booking-list")]
    GetBookingList,
    /// Show a booking's history from the event store.
    #[command(name = "get_booking_events", visible_alias = "get-booking-events")]
    GetBookingEvents {
        /// The booking's id.
        #[arg(value_parser = parse_uuid)]
        id: Uuid,
    },
    /// Rebuild the booking projection: empty its table, move its checkpoint
    /// to the start and apply the whole log again, showing progress (a bar
    /// on a terminal, a line every --log-every seconds otherwise, on stderr).
    #[command(name = "rebuild_projection", visible_alias = "rebuild-projection")]
    RebuildProjection {
        /// Seconds between two progress lines when stderr is not a terminal.
        #[arg(long, default_value_t = 5.0, value_parser = parse_positive_seconds)]
        log_every: f64,
    },
    /// Run the projector, the relay to RabbitMQ and HTTP: /health and
    /// /metrics; in server mode also /ready and the bookings API (POST
    /// /bookings, GET /bookings, /bookings/{id}, /bookings/{id}/events)
    /// (embedded: under SQLite leases in the data directory).
    Serve(serve::ServeArgs),
}

fn parse_positive_seconds(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("{text:?} is not a positive number of seconds"))
}

/// Why the Booking CLI failed.
#[derive(Debug, thiserror::Error)]
pub enum BookingAppError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A SQLite database could not be opened.
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// The projector database could not be prepared.
    #[error("cannot prepare the projector database: {0}")]
    ProjectorSetup(#[source] sqlx::Error),
    /// A PostgreSQL database could not be used.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// A command or query failed.
    #[error(transparent)]
    Service(#[from] BookingServiceError),
    /// The lease database could not be opened (embedded `serve`).
    #[error("cannot open the lease database: {0}")]
    Leases(#[from] LeaseError),
    /// `serve` stopped on an error.
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
}

impl ServiceCli for Cli {
    type Error = BookingAppError;

    fn serves(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }

    async fn run(self) -> Result<String, BookingAppError> {
        run(self).await
    }
}

/// How long a server-mode command waits for a PostgreSQL connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one command and returns what it prints.
pub async fn run(cli: Cli) -> Result<String, BookingAppError> {
    match cli.stores.event_store_url.clone() {
        None => run_embedded(cli).await,
        Some(url) => run_server(&url, cli).await,
    }
}

/// Embedded mode: the event store and the projection in two SQLite files
/// (and, for `serve`, the leases in a third).
async fn run_embedded(cli: Cli) -> Result<String, BookingAppError> {
    if let Command::Serve(args) = &cli.command {
        serve::check_broker(&args.broker.amqp_url).await?;
    }
    let dir = &cli.stores.data_dir;
    let store = SqliteStore::open(data_dir::data_file(dir, BOOKING_EVENTS_FILE)?).await?;
    let checkpoints =
        SqliteCheckpoints::open(data_dir::data_file(dir, BOOKING_PROJECTION_FILE)?).await?;
    BookingProjection::create_sqlite_table(checkpoints.pool())
        .await
        .map_err(BookingAppError::ProjectorSetup)?;
    let views = BookingViews::Sqlite(checkpoints.pool().clone());
    let service = BookingService::new(store.clone(), checkpoints, views)?;
    if let Command::Serve(args) = &cli.command {
        let leases = SqliteLeases::open(data_dir::data_file(dir, BOOKING_LEASES_FILE)?).await?;
        // Counters only: the lag gauges, /ready and the HTTP commands are
        // server mode's.
        let operations = |_, _| metrics_endpoint::routes(|| async {});
        serve::serve(
            &service,
            &store,
            store.checkpoints(),
            leases,
            args,
            operations,
        )
        .await?;
        return Ok(String::new());
    }
    Ok(execute(&service, cli.command, cli.traceparent.as_deref()).await?)
}

/// Server mode: the event store and the projector database on PostgreSQL
/// (the same database unless PROJECTOR_DATABASE_URL says otherwise).
async fn run_server(event_store_url: &str, cli: Cli) -> Result<String, BookingAppError> {
    if let Command::Serve(args) = &cli.command {
        // Fail before touching the databases if the broker is not there.
        serve::check_broker(&args.broker.amqp_url).await?;
    }
    let store = PostgresStore::connect_with(
        PostgresConfig::new(event_store_url).with_acquire_timeout(CONNECT_TIMEOUT),
    )
    .await?;
    store.migrate().await?;
    let projector_url = cli
        .stores
        .projector_url
        .as_deref()
        .unwrap_or(event_store_url);
    let checkpoints = PostgresCheckpoints::connect_with(
        PostgresConfig::new(projector_url).with_acquire_timeout(CONNECT_TIMEOUT),
    )
    .await?;
    checkpoints.migrate().await?;
    BookingProjection::create_postgres_table(checkpoints.pool())
        .await
        .map_err(BookingAppError::ProjectorSetup)?;
    let views = BookingViews::Postgres(checkpoints.pool().clone());
    let service = BookingService::new(store.clone(), checkpoints, views)?;
    if let Command::Serve(args) = &cli.command {
        let leases = PostgresLeases::new(
            PostgresConfig::new(event_store_url),
            PostgresLeaseConfig::new(),
        )?;
        let service = std::sync::Arc::new(service);
        let operations = |saved, workers| {
            operations::routes(
                &service,
                &store,
                saved,
                workers,
                &args.broker.amqp_url,
                args.readiness,
            )
            .merge(http_commands::routes(service.clone()))
        };
        serve::serve(
            &service,
            &store,
            store.checkpoints(),
            leases,
            args,
            operations,
        )
        .await?;
        return Ok(String::new());
    }
    Ok(execute(&service, cli.command, cli.traceparent.as_deref()).await?)
}

async fn execute<S, C>(
    service: &BookingService<S, C>,
    command: Command,
    traceparent: Option<&str>,
) -> Result<String, BookingServiceError>
where
    S: DcbStore + Clone + 'static,
    C: CheckpointStore + 'static,
    BookingProjection: Projection<C::Transaction>,
{
    let trace = || trace::for_command(traceparent);
    // A command whose events are stored succeeded, and a query answers from
    // the read model it has: either way stdout gets the answer, and one
    // warning line on stderr says how far behind the read model was.
    let answered = match command {
        Command::CreateBookingRequest {
            parking_slot_ref_no,
        } => service
            .create(parking_slot_ref_no, trace())
            .await?
            .map(|id| id.to_string()),
        Command::ReserveBooking { id } => {
            service.reserve(id, trace()).await?.map(|()| id.to_string())
        }
        Command::CompleteBooking { id } => service
            .complete(id, trace())
            .await?
            .map(|()| id.to_string()),
        Command::GetBookingDetails { id } => service.details(id).await?.map(|row| details(&row)),
        Command::GetBookingList => service.list().await?.map(|rows| {
            rows.iter()
                .map(|row| {
                    format!(
                        "{:>4}  {}  {:<9}  {}",
                        row.id, row.domain_uuid, row.status, row.parking_slot_ref_no
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        other => Answered::current(execute_other(service, other).await?),
    };
    if let Some(warning) = answered.warning() {
        eprintln!("{warning}");
    }
    Ok(answered.value)
}

/// The commands that do not read the booking read model.
async fn execute_other<S, C>(
    service: &BookingService<S, C>,
    command: Command,
) -> Result<String, BookingServiceError>
where
    S: DcbStore + Clone + 'static,
    C: CheckpointStore + 'static,
    BookingProjection: Projection<C::Transaction>,
{
    Ok(match command {
        Command::GetBookingEvents { id } => {
            history::format_history(id, &service.history(id).await?)
        }
        Command::RebuildProjection { log_every } => {
            // Progress on stderr (a bar, or log lines), the summary on stdout.
            let runner = service.projector();
            let every = Duration::from_secs_f64(log_every);
            let mut view = ProgressView::for_stderr(BOOKING_PROJECTION, every);
            let rebuilt = follow_while(runner.catch_up_progress(), &mut view, runner.rebuild());
            let position = rebuilt.await?;
            let done = runner.catch_up_progress().borrow().map_or(0, |p| p.done);
            format!("rebuilt {BOOKING_PROJECTION}: {done} events applied, checkpoint {position}")
        }
        // Handled by the callers, which know the concrete stores; the rest
        // by `execute`.
        Command::Serve(_)
        | Command::CreateBookingRequest { .. }
        | Command::ReserveBooking { .. }
        | Command::CompleteBooking { .. }
        | Command::GetBookingDetails { .. }
        | Command::GetBookingList => String::new(),
    })
}

fn details(row: &BookingRow) -> String {
    key_value::key_value_lines(&[
        ("id", row.id.to_string()),
        ("domain_uuid", row.domain_uuid.to_string()),
        ("status", row.status.clone()),
        ("parking_slot_ref_no", row.parking_slot_ref_no.clone()),
    ])
}
