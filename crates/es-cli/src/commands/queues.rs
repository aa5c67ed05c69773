//! `es queues --queue NAME`: a consumer's queues on the broker (its single
//! queue, its partition queues, its dead-letter queue) with their messages
//! and consumers, and a warning on each that needs an operator: a queue
//! with no consumer, a single queue left beside partitions (bound, so it
//! keeps filling), dead letters waiting. Nothing moves.

use clap::Args;
use serde::Serialize;

use crate::{
    broker::{self, QueueRole, QueueState},
    cli::GlobalArgs,
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es queues`.
#[derive(Debug, Args)]
pub struct QueuesArgs {
    /// The consumer's queue (its partitions are QUEUE.pN, its dead letters QUEUE.dlq).
    #[arg(long, env = "PARKING_QUEUE")]
    pub queue: String,
}

/// What `es queues` prints.
#[derive(Debug, Serialize)]
pub struct QueuesReport {
    /// The consumer's queue, as given.
    pub queue: String,
    /// Its queues that exist.
    pub queues: Vec<QueueState>,
}

impl Report for QueuesReport {
    fn human(&self) -> String {
        if self.queues.is_empty() {
            return format!(
                "no queue of consumer {:?} exists (nor {0}.pN, {0}.dlq)",
                self.queue
            );
        }
        let rows = self.queues.iter().map(|q| {
            [
                q.name.clone(),
                role(q),
                q.messages.to_string(),
                q.consumers.to_string(),
            ]
        });
        let mut text = output::table(&["QUEUE", "ROLE", "MESSAGES", "CONSUMERS"], rows);
        for q in &self.queues {
            if let Some(warning) = &q.warning {
                text.push_str(&format!("\nwarning: {}: {warning}", q.name));
            }
        }
        text
    }
}

/// The role column: `single`, `partition 3`, `dead letters`.
pub fn role(queue: &QueueState) -> String {
    match (queue.role, queue.partition) {
        (QueueRole::Partition, Some(n)) => format!("partition {n}"),
        (QueueRole::Partition, None) => "partition".to_owned(),
        (QueueRole::Single, _) => "single".to_owned(),
        (QueueRole::DeadLetters, _) => "dead letters".to_owned(),
    }
}

/// Runs `es queues`.
pub async fn run(args: QueuesArgs, global: &GlobalArgs, printer: Printer) -> Result<(), CliError> {
    let connection = broker::connect(global).await?;
    let queues = broker::survey(&connection, &args.queue).await;
    broker::close(&connection).await;
    printer.print(&QueuesReport {
        queue: args.queue,
        queues: queues?,
    })
}
