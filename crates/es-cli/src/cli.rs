//! The command line: global flags and the subcommand tree.
//!
//! Each subcommand's own flags live beside its implementation in
//! `commands/`; this module only assembles them, so `es --help` reads as
//! the list of what the tool can do.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    dead_letters::DeadLettersCommand, events::EventsArgs, horizon::HorizonArgs,
    projection_reset::ProjectionResetArgs, projection_watch::ProjectionWatchArgs,
    projections::ProjectionsArgs, queues::QueuesArgs, relay_status::RelayStatusArgs,
    streams::StreamsArgs, tail::TailArgs,
};

/// Inspect an es-* event store, its projections and relay, and its RabbitMQ dead letters.
#[derive(Debug, Parser)]
#[command(name = "es", version, propagate_version = true)]
pub struct Cli {
    /// Where to connect and how to print.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes (listed apart from each subcommand's own).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The event store: postgres://USER:PASSWORD@HOST:PORT/DB or sqlite:PATH
    /// [default: $EVENT_STORE_DATABASE_URL, the services' own variable].
    #[arg(long, env = "ES_STORE_URL", global = true, hide_env_values = true)]
    pub store: Option<String>,
    /// A database keeping projections' checkpoints apart from the log (a
    /// projector database: postgres://... or sqlite:PATH)
    /// [default: $PROJECTOR_DATABASE_URL when the store is $EVENT_STORE_DATABASE_URL].
    #[arg(
        long,
        env = "ES_CHECKPOINTS_URL",
        global = true,
        hide_env_values = true
    )]
    pub checkpoints: Option<String>,
    /// The PostgreSQL schema of the store (default: the store's default, `es`).
    #[arg(long, global = true)]
    pub schema: Option<String>,
    /// The RabbitMQ broker, for `queues` and `dead-letters`: amqp://USER:PASSWORD@HOST:PORT/VHOST.
    #[arg(long, env = "AMQP_URL", global = true, hide_env_values = true)]
    pub amqp_url: Option<String>,
    /// Print JSON for scripts (one document per command; JSON lines for `tail`).
    #[arg(long, global = true)]
    pub json: bool,
    /// How long connecting to the store or broker may take, in seconds.
    #[arg(long, global = true, default_value = "10", value_parser = parse_seconds)]
    pub connect_timeout: Duration,
}

/// The services' own variables, so that `es` run beside them (the README's
/// server setup) sees what they see without a flag.
const SERVICE_STORE_VAR: &str = "EVENT_STORE_DATABASE_URL";
const SERVICE_CHECKPOINTS_VAR: &str = "PROJECTOR_DATABASE_URL";

impl GlobalArgs {
    /// The store: `--store`, `ES_STORE_URL`, else the services'
    /// `EVENT_STORE_DATABASE_URL`.
    pub fn store_url(&self) -> Option<String> {
        self.store
            .clone()
            .or_else(|| non_empty_var(SERVICE_STORE_VAR))
    }

    /// The checkpoint database beside the store `store_url`: `--checkpoints`,
    /// `ES_CHECKPOINTS_URL`, else the services' `PROJECTOR_DATABASE_URL` when
    /// the store is their `EVENT_STORE_DATABASE_URL` (so a projector database
    /// of an unrelated deployment is never mixed in). `None` when it is the
    /// store's own database.
    pub fn checkpoints_url(&self, store_url: &str) -> Option<String> {
        let url = self.checkpoints.clone().or_else(|| {
            let services_store = non_empty_var(SERVICE_STORE_VAR)?;
            (services_store == store_url)
                .then(|| non_empty_var(SERVICE_CHECKPOINTS_VAR))
                .flatten()
        })?;
        (url != store_url).then_some(url)
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List streams with their version and last write time (paged by stream id).
    Streams(StreamsArgs),
    /// Show one stream's history with metadata.
    Events(EventsArgs),
    /// Follow the global log live, until Ctrl-C or --count events.
    Tail(TailArgs),
    /// List every checkpoint with its lag behind the head of the log.
    Projections(ProjectionsArgs),
    /// Act on one projection.
    #[command(subcommand)]
    Projection(ProjectionCommand),
    /// Inspect the RabbitMQ relay.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// A consumer's queues (single, partitions, dead letters): messages, consumers, warnings.
    Queues(QueuesArgs),
    /// Inspect and move the messages of a consumer's dead-letter queue.
    #[command(subcommand)]
    DeadLetters(DeadLettersCommand),
    /// PostgreSQL: the transactions holding back the gap-safe reader.
    Horizon(HorizonArgs),
    /// A web explorer of all of the above (read-only unless --allow-writes).
    Ui(crate::ui::UiArgs),
}

/// `es projection ...`
#[derive(Debug, Subcommand)]
pub enum ProjectionCommand {
    /// Move a projection's checkpoint back (to the start by default).
    Reset(ProjectionResetArgs),
    /// Follow a projection's catch-up: done, rate, time left; exits once caught up.
    Watch(ProjectionWatchArgs),
}

/// `es relay ...`
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// The relay's checkpoint against the head of the log.
    Status(RelayStatusArgs),
}

/// A positive number of seconds, for `--connect-timeout` and the watch intervals.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("bad timeout {text:?}: expected a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("bad timeout {text:?}: expected a positive number of seconds"))
}
