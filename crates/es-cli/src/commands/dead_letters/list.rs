//! `es dead-letters list`: every dead letter, nothing moved.

use clap::Args;
use serde::Serialize;

use super::QueueArgs;
use crate::{
    broker::{DeadLetter, DeadLetterQueue},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es dead-letters list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which dead-letter queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Show at most this many messages (from the head of the queue).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
}

/// What `es dead-letters list` prints.
#[derive(Debug, Serialize)]
pub struct ListReport {
    /// The dead-letter queue.
    pub queue: String,
    /// Messages in it when we looked.
    pub message_count: u32,
    /// The messages shown, in queue order.
    pub messages: Vec<DeadLetter>,
}

impl Report for ListReport {
    fn human(&self) -> String {
        let rows = self.messages.iter().map(|m| {
            [
                output::or_dash(m.message_id.as_deref()),
                output::or_dash(m.stream_id.as_deref()),
                output::or_dash(m.version),
                output::or_dash(m.event_type.as_deref()),
                output::or_dash(m.reason.as_deref().map(|r| output::shorten(r, 60))),
                output::or_dash(m.attempts),
                output::or_dash(m.failed_at.as_deref()),
            ]
        });
        let table = output::table(
            &[
                "MESSAGE ID",
                "STREAM",
                "VERSION",
                "TYPE",
                "REASON",
                "ATTEMPTS",
                "FAILED AT",
            ],
            rows,
        );
        format!(
            "{table}\n{}: {} message(s), {} shown",
            self.queue,
            self.message_count,
            self.messages.len()
        )
    }
}

/// Runs `es dead-letters list`.
pub async fn run(
    args: ListArgs,
    queue: &mut DeadLetterQueue,
    printer: Printer,
) -> Result<(), CliError> {
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let taken = queue.take(Some(limit)).await?;
    queue.return_all().await?;
    printer.print(&ListReport {
        queue: queue.name().to_owned(),
        message_count: queue.message_count(),
        messages: taken.into_iter().map(|m| m.dead_letter).collect(),
    })
}
