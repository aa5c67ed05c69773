//! `es dead-letters ...`: what a consumer gave up on, and moving it back.
//!
//! es-amqp's consumer dead-letters a message into `{queue}.dlq` (unless
//! configured otherwise) with the failure in `x-es-*` headers. These
//! commands read that queue without losing or reordering anything (see
//! `broker::DeadLetterQueue`), show one message, move messages back to the
//! queue that failed them, or purge the queue.

mod list;
mod purge;
pub mod redrive;
mod show;

use clap::{Args, Subcommand};

use crate::{
    broker::{self, DeadLetterQueue},
    cli::GlobalArgs,
    error::CliError,
    output::Printer,
};

/// `es dead-letters ...`
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// List the dead letters (message id, stream, version, type, reason, attempts); nothing moves.
    List(list::ListArgs),
    /// Show one dead letter with its headers and body; nothing moves.
    Show(show::ShowArgs),
    /// Move dead letters back to the queue that failed them, per stream in version order.
    Redrive(redrive::RedriveArgs),
    /// Delete every dead letter of the queue.
    Purge(purge::PurgeArgs),
}

/// Which dead-letter queue: the consumer's queue (its `{queue}.dlq`) or the
/// dead-letter queue by name.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct QueueArgs {
    /// The consumer's queue; its dead letters are in QUEUE.dlq (es-amqp's default).
    #[arg(long)]
    pub queue: Option<String>,
    /// The dead-letter queue by name (when the consumer set its own).
    #[arg(long)]
    pub dead_letter_queue: Option<String>,
}

impl QueueArgs {
    /// The dead-letter queue's name.
    pub fn dead_letter_queue(&self) -> Result<String, CliError> {
        match (&self.dead_letter_queue, &self.queue) {
            (Some(name), _) => Ok(name.clone()),
            (None, Some(queue)) => Ok(format!("{queue}.dlq")),
            (None, None) => Err(CliError::Usage(
                "which dead-letter queue? pass --queue or --dead-letter-queue".into(),
            )),
        }
    }
}

impl DeadLettersCommand {
    fn queue(&self) -> &QueueArgs {
        match self {
            DeadLettersCommand::List(args) => &args.queue,
            DeadLettersCommand::Show(args) => &args.queue,
            DeadLettersCommand::Redrive(args) => &args.queue,
            DeadLettersCommand::Purge(args) => &args.queue,
        }
    }
}

/// Runs `es dead-letters ...`: whatever happens, every message taken and
/// not moved goes back to the queue before the connection closes.
pub async fn run(
    command: DeadLettersCommand,
    global: &GlobalArgs,
    printer: Printer,
) -> Result<(), CliError> {
    let name = command.queue().dead_letter_queue()?;
    let connection = broker::connect(global).await?;
    let result = async {
        let mut queue = DeadLetterQueue::open(&connection, &name).await?;
        let result = match command {
            DeadLettersCommand::List(args) => list::run(args, &mut queue, printer).await,
            DeadLettersCommand::Show(args) => show::run(args, &mut queue, printer).await,
            DeadLettersCommand::Redrive(args) => {
                redrive::run(args, &connection, &mut queue, printer).await
            }
            DeadLettersCommand::Purge(args) => purge::run(args, &queue, printer).await,
        };
        let returned = queue.return_all().await;
        result.and(returned)
    }
    .await;
    broker::close(&connection).await;
    result
}
