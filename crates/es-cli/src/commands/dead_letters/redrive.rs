//! `es dead-letters redrive`: move dead letters back where they failed.
//!
//! Every dead letter is taken first (so the order can be decided on all of
//! them), then moved in per-stream order: by stream id, then version;
//! messages of no stream (undecodable ones) last, in queue order. Each is
//! republished, with publisher confirms and `mandatory`, to the queue that
//! gave up on it (through the default exchange) or else to its original
//! exchange and routing key, without the `x-es-*` failure headers; the dead
//! letter is acknowledged only after the broker confirmed the copy. The first
//! failure stops the run and everything not yet moved stays in the
//! dead-letter queue, in order. A crash between a confirm and its
//! acknowledgement leaves a copy in both queues: the consumer's handler
//! must be idempotent (es-amqp's `IdempotentHandler` is).

use clap::Args;
use es_amqp::{
    lapin::{
        options::{BasicPublishOptions, ConfirmSelectOptions},
        types::{FieldTable, ShortString},
        Channel, Confirmation, Connection,
    },
    wire,
};
use serde::Serialize;

use super::QueueArgs;
use crate::{
    broker::{DeadLetterQueue, RedriveTarget, TakenMessage},
    error::CliError,
    output::{self, Printer, Report},
};

/// The headers es-amqp's consumer adds when it dead-letters a message.
const FAILURE_HEADERS: [&str; 6] = [
    wire::HEADER_FAILURE,
    wire::HEADER_ATTEMPTS,
    wire::HEADER_FAILED_QUEUE,
    wire::HEADER_ORIGINAL_ROUTING_KEY,
    wire::HEADER_ORIGINAL_EXCHANGE,
    wire::HEADER_FAILED_AT,
];

/// Flags of `es dead-letters redrive`.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// Which dead-letter queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Show what would be moved, and move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move at most this many messages (the first ones in per-stream order).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

/// One message of the plan.
#[derive(Debug, Serialize)]
pub struct Move {
    /// Its message id.
    pub message_id: Option<String>,
    /// Its stream.
    pub stream_id: Option<String>,
    /// Its version.
    pub version: Option<u64>,
    /// Where it goes (`None`: nowhere known, it stays).
    pub target: Option<RedriveTarget>,
}

/// What `es dead-letters redrive` prints.
#[derive(Debug, Serialize)]
pub struct RedriveReport {
    /// The dead-letter queue.
    pub queue: String,
    /// Whether this was a dry run (nothing moved).
    pub dry_run: bool,
    /// The messages moved (or, in a dry run, that would be), in order.
    pub moved: Vec<Move>,
    /// Messages left behind because they name no queue or exchange to go back to.
    pub skipped: Vec<Move>,
}

impl Report for RedriveReport {
    fn human(&self) -> String {
        let rows = self.moved.iter().chain(&self.skipped).map(|m| {
            [
                output::or_dash(m.message_id.as_deref()),
                output::or_dash(m.stream_id.as_deref()),
                output::or_dash(m.version),
                m.target
                    .as_ref()
                    .map_or_else(|| "stays (no target)".to_owned(), |t| t.to_string()),
            ]
        });
        let table = output::table(&["MESSAGE ID", "STREAM", "VERSION", "TO"], rows);
        let verb = if self.dry_run { "would move" } else { "moved" };
        format!(
            "{table}\n{}: {verb} {} message(s), {} without a target stay",
            self.queue,
            self.moved.len(),
            self.skipped.len()
        )
    }
}

fn plan_entry(message: &TakenMessage) -> Move {
    let d = &message.dead_letter;
    Move {
        message_id: d.message_id.clone(),
        stream_id: d.stream_id.clone(),
        version: d.version,
        target: d.redrive_target.clone(),
    }
}

/// Runs `es dead-letters redrive`.
pub async fn run(
    args: RedriveArgs,
    connection: &Connection,
    queue: &mut DeadLetterQueue,
    printer: Printer,
) -> Result<(), CliError> {
    printer.print(&redrive(connection, queue, args.limit, args.dry_run).await?)
}

/// Moves the dead letters of `queue` back (at most `limit`, the first in
/// per-stream order; nothing when `dry_run`) and says what moved. What is
/// not moved stays in the queue, in order (also on an error).
pub async fn redrive(
    connection: &Connection,
    queue: &mut DeadLetterQueue,
    limit: Option<u64>,
    dry_run: bool,
) -> Result<RedriveReport, CliError> {
    let mut taken = queue.take(None).await?;
    taken.sort_by(|a, b| {
        a.dead_letter
            .redrive_order()
            .cmp(&b.dead_letter.redrive_order())
    });
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let (movable, skipped): (Vec<_>, Vec<_>) = taken
        .into_iter()
        .partition(|m| m.dead_letter.redrive_target.is_some());
    let movable: Vec<_> = movable.into_iter().take(limit).collect();
    let skipped = skipped.iter().map(plan_entry).collect();

    let mut moved = Vec::with_capacity(movable.len());
    if dry_run {
        moved.extend(movable.iter().map(plan_entry));
    } else {
        let publisher = connection
            .create_channel()
            .await
            .map_err(CliError::broker("open a publishing channel"))?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(CliError::broker("enable publisher confirms"))?;
        for message in &movable {
            republish(&publisher, message)
                .await
                .map_err(|reason| CliError::Redrive {
                    moved: moved.len(),
                    message_id: output::or_dash(message.dead_letter.message_id.as_deref()),
                    target: output::or_dash(message.dead_letter.redrive_target.as_ref()),
                    reason,
                })?;
            queue.ack(message).await?;
            moved.push(plan_entry(message));
        }
    }
    queue.return_all().await?;
    Ok(RedriveReport {
        queue: queue.name().to_owned(),
        dry_run,
        moved,
        skipped,
    })
}

/// Publishes a copy of `message` to its target and waits for the confirm.
async fn republish(channel: &Channel, message: &TakenMessage) -> Result<(), String> {
    let (exchange, routing_key) = match &message.dead_letter.redrive_target {
        Some(RedriveTarget::Queue(queue)) => (String::new(), queue.clone()),
        Some(RedriveTarget::Exchange {
            exchange,
            routing_key,
        }) => (exchange.clone(), routing_key.clone()),
        None => return Err("no queue or exchange to send it to".into()),
    };
    let short = |what: &str, value: String| {
        ShortString::try_new(value).map_err(|e| format!("bad {what}: {e}"))
    };
    let delivery = &message.delivery;
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    let mut inner = headers.inner().clone();
    for name in FAILURE_HEADERS {
        inner.remove(name);
    }
    headers = FieldTable::from(inner);
    let properties = delivery.properties.clone().with_headers(headers);
    let confirmation = channel
        .basic_publish(
            short("exchange", exchange)?,
            short("routing key", routing_key)?,
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            &delivery.data,
            properties,
        )
        .await
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => Err(format!(
            "unroutable: {} {}",
            returned.reply_code, returned.reply_text
        )),
        Confirmation::Nack(None) => Err("the broker refused it (nack)".into()),
        Confirmation::NotRequested => Err("no publisher confirm".into()),
    }
}
