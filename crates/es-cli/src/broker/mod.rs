//! The RabbitMQ side: connecting, reading dead letters, moving them, and
//! surveying a consumer's queues.
//!
//! Uses the lapin version es-amqp re-exports and es-amqp's wire header
//! names, so `es` reads exactly what es-amqp's consumer writes.

mod amqp_json;
mod dead_letter;
mod dead_letter_queue;
mod queue_survey;

use std::time::Duration;

use es_amqp::lapin::{Connection, ConnectionProperties};

pub use dead_letter::{body, headers, properties, DeadLetter, RedriveTarget};
pub use dead_letter_queue::{DeadLetterQueue, TakenMessage};
pub use queue_survey::{survey, QueueRole, QueueState};

use crate::{cli::GlobalArgs, error::CliError};

/// The connection name `es` shows in the broker's tools.
const CONNECTION_NAME: &str = "es-cli";

/// Connects to the broker named by `--amqp-url` / `AMQP_URL`.
pub async fn connect(global: &GlobalArgs) -> Result<Connection, CliError> {
    let url = global.amqp_url.as_deref().ok_or_else(|| {
        CliError::Usage("no broker given: pass --amqp-url URL or set AMQP_URL".into())
    })?;
    let redacted = es_amqp::redact_url(url);
    let timeout: Duration = global.connect_timeout;
    let properties = ConnectionProperties::default().with_connection_name(CONNECTION_NAME.into());
    tokio::time::timeout(timeout, Connection::connect(url, properties))
        .await
        .map_err(|_| CliError::Timeout {
            what: format!("connecting to RabbitMQ at {redacted}"),
            after: timeout,
        })?
        .map_err(CliError::broker(format!("connect to {redacted}")))
}

/// Closes `connection` politely; a failure here changes nothing for the user.
pub async fn close(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            connection.close(200, "es done".into()),
        )
        .await;
    }
}
