//! `es relay status [NAME]`: how far the RabbitMQ relay is behind the log.
//!
//! es-amqp's relay keeps its checkpoint in the store's checkpoint table
//! under its configured name, and moves it only past events the broker
//! confirmed. Its distance to the head of the log is what has not been
//! published yet. The table does not say which checkpoints belong to
//! relays, so without NAME every checkpoint is shown. The holder column is
//! the instance whose relay runs under the lease of that name.

use clap::Args;
use serde::Serialize;

use crate::{
    backend::{model::Head, Backend},
    commands::lag::{head_line, holder_cell, CheckpointLag},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es relay status`.
#[derive(Debug, Args)]
pub struct RelayStatusArgs {
    /// The relay's name (its `RelayConfig::name`); all checkpoints if omitted.
    pub name: Option<String>,
}

/// What `es relay status` prints.
#[derive(Debug, Serialize)]
pub struct RelayStatusReport {
    /// The last event of the log.
    pub head: Option<Head>,
    /// The relay(s) and how far behind they are.
    pub relays: Vec<CheckpointLag>,
}

impl Report for RelayStatusReport {
    fn human(&self) -> String {
        let rows = self.relays.iter().map(|r| {
            [
                r.name.clone(),
                r.position.to_string(),
                r.events_behind.to_string(),
                output::seconds(r.seconds_behind),
                holder_cell(r),
            ]
        });
        let table = output::table(
            &[
                "RELAY",
                "CONFIRMED UP TO",
                "EVENTS BEHIND",
                "SECONDS BEHIND",
                "HOLDER",
            ],
            rows,
        );
        format!("{table}\n{}", head_line(self.head.as_ref()))
    }
}

/// Runs `es relay status`.
pub async fn run(
    args: RelayStatusArgs,
    backend: &Backend,
    printer: Printer,
) -> Result<(), CliError> {
    let checkpoints = match &args.name {
        Some(name) => vec![backend.checkpoint(name).await?],
        None => backend.checkpoints().await?,
    };
    let head = backend.head().await?;
    let relays = CheckpointLag::measure_all(backend, checkpoints).await?;
    printer.print(&RelayStatusReport { head, relays })
}
