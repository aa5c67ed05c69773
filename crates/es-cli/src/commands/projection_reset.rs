//! `es projection reset NAME`: move a projection's checkpoint back.
//!
//! Only the checkpoint moves (to the start, or `--to` a position); the
//! projection's own rows stay as they are, so the projection must apply
//! events idempotently or have its tables cleared first. A running runner
//! notices on its next commit (its compare-and-set fails) and reloads.
//! An unknown name is refused, listing the names that exist.

use clap::Args;
use es_core::Position;
use serde::Serialize;

use crate::{
    backend::Backend,
    error::CliError,
    output::{Printer, Report},
    position_arg::parse_position,
};

/// Flags of `es projection reset`.
#[derive(Debug, Args)]
pub struct ProjectionResetArgs {
    /// The projection (its checkpoint name).
    pub name: String,
    /// Move the checkpoint to this position (COMMIT/SEQUENCE, or start).
    #[arg(long, value_parser = parse_position, default_value = "start")]
    pub to: Position,
}

/// What `es projection reset` prints.
#[derive(Debug, Serialize)]
pub struct ResetReport {
    /// The projection.
    pub name: String,
    /// Where its checkpoint was.
    pub from: Position,
    /// Where it is now.
    pub to: Position,
    /// Events after the new checkpoint: what it will process (again).
    pub events_to_process: u64,
}

impl Report for ResetReport {
    fn human(&self) -> String {
        format!(
            "projection {}: checkpoint moved from {} to {}; {} event(s) to process",
            self.name, self.from, self.to, self.events_to_process
        )
    }
}

/// Runs `es projection reset`.
pub async fn run(
    args: ProjectionResetArgs,
    backend: &Backend,
    printer: Printer,
) -> Result<(), CliError> {
    let from = backend.move_checkpoint(&args.name, args.to).await?;
    let backlog = backend.backlog(args.to).await?;
    printer.print(&ResetReport {
        name: args.name,
        from,
        to: args.to,
        events_to_process: backlog.events,
    })
}
