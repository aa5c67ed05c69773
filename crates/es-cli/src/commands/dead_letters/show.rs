//! `es dead-letters show ID`: one dead letter in full, nothing moved.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::QueueArgs;
use crate::{
    broker::{self, DeadLetter, DeadLetterQueue},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es dead-letters show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The message id (the event id of an es-amqp message).
    pub id: String,
    /// Which dead-letter queue.
    #[command(flatten)]
    pub queue: QueueArgs,
}

/// What `es dead-letters show` prints.
#[derive(Debug, Serialize)]
pub struct ShowReport {
    /// The dead-letter queue.
    pub queue: String,
    /// The summary `list` shows.
    pub dead_letter: DeadLetter,
    /// The exchange it reached the dead-letter queue through.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its AMQP properties.
    pub properties: Value,
    /// All its headers.
    pub headers: Value,
    /// Its body (JSON, or text when it is not JSON).
    pub body: Value,
}

impl Report for ShowReport {
    fn human(&self) -> String {
        let d = &self.dead_letter;
        let fields = [
            ("message id", output::or_dash(d.message_id.as_deref())),
            ("stream", output::or_dash(d.stream_id.as_deref())),
            ("version", output::or_dash(d.version)),
            ("event type", output::or_dash(d.event_type.as_deref())),
            ("reason", output::or_dash(d.reason.as_deref())),
            ("attempts", output::or_dash(d.attempts)),
            ("failed queue", output::or_dash(d.failed_queue.as_deref())),
            ("failed at", output::or_dash(d.failed_at.as_deref())),
            ("redrive to", output::or_dash(d.redrive_target.as_ref())),
            ("exchange", format!("{:?}", self.exchange)),
            ("routing key", format!("{:?}", self.routing_key)),
        ];
        let rows = fields.into_iter().map(|(k, v)| [k.to_owned(), v]);
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
        format!(
            "{}\nproperties: {}\nheaders: {}\nbody: {}",
            output::table(&["FIELD", "VALUE"], rows),
            pretty(&self.properties),
            pretty(&self.headers),
            pretty(&self.body)
        )
    }
}

/// Runs `es dead-letters show`.
pub async fn run(
    args: ShowArgs,
    queue: &mut DeadLetterQueue,
    printer: Printer,
) -> Result<(), CliError> {
    let taken = queue.take(None).await?;
    queue.return_all().await?;
    let found = taken
        .into_iter()
        .find(|m| m.dead_letter.message_id.as_deref() == Some(args.id.as_str()))
        .ok_or_else(|| CliError::DeadLetterNotFound {
            id: args.id.clone(),
            queue: queue.name().to_owned(),
        })?;
    let delivery = &found.delivery;
    printer.print(&ShowReport {
        queue: queue.name().to_owned(),
        exchange: delivery.exchange.as_str().to_owned(),
        routing_key: delivery.routing_key.as_str().to_owned(),
        properties: broker::properties(&delivery.properties),
        headers: broker::headers(&delivery.properties),
        body: broker::body(&delivery.data),
        dead_letter: found.dead_letter,
    })
}
