//! `es dead-letters purge`: delete every dead letter, only with `--yes`.

use clap::Args;
use serde::Serialize;

use super::QueueArgs;
use crate::{
    broker::DeadLetterQueue,
    error::CliError,
    output::{Printer, Report},
};

/// Flags of `es dead-letters purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Which dead-letter queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Really delete them (without it, nothing happens).
    #[arg(long)]
    pub yes: bool,
}

/// What `es dead-letters purge` prints.
#[derive(Debug, Serialize)]
pub struct PurgeReport {
    /// The dead-letter queue.
    pub queue: String,
    /// How many messages were deleted.
    pub purged: u32,
}

impl Report for PurgeReport {
    fn human(&self) -> String {
        format!("{}: {} message(s) deleted", self.queue, self.purged)
    }
}

/// Runs `es dead-letters purge`.
pub async fn run(
    args: PurgeArgs,
    queue: &DeadLetterQueue,
    printer: Printer,
) -> Result<(), CliError> {
    if !args.yes {
        return Err(CliError::PurgeNotConfirmed {
            queue: queue.name().to_owned(),
            count: queue.message_count(),
        });
    }
    let purged = queue.purge().await?;
    printer.print(&PurgeReport {
        queue: queue.name().to_owned(),
        purged,
    })
}
