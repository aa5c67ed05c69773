//! The consumers' queues as the broker holds them: a consumer's single
//! queue, its partition queues (`{queue}.p{n}`, es-amqp's consumer groups)
//! and its dead-letter queue (`{queue}.dlq`), each with its messages and
//! consumers, and what an operator should know about them.
//!
//! RabbitMQ's management plugin is not assumed: each queue is asked with a
//! passive declare, which never creates one; a queue that does not exist
//! closes the channel with 404, so each ask has a channel of its own.

use es_amqp::lapin::{
    options::QueueDeclareOptions,
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::FieldTable,
    Connection, ErrorKind,
};
use serde::Serialize;

use crate::error::CliError;

/// The most partitions a consumer group has (es-amqp's limit): partition
/// queues up to `{queue}.p63` are looked for.
pub const MAX_PARTITIONS: u16 = 64;

/// What a queue is to its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueRole {
    /// The consumer's one queue (no partitions).
    Single,
    /// One partition queue of a consumer group.
    Partition,
    /// Where the consumer's failed messages wait.
    DeadLetters,
}

/// One queue that exists, as the broker counts it.
#[derive(Debug, Clone, Serialize)]
pub struct QueueState {
    /// The queue's name.
    pub name: String,
    /// What it is to the consumer.
    pub role: QueueRole,
    /// The partition's number (partition queues only).
    pub partition: Option<u16>,
    /// Messages ready in it.
    pub messages: u32,
    /// Consumers subscribed to it.
    pub consumers: u32,
    /// What an operator should do about it, if anything.
    pub warning: Option<String>,
}

/// The queues of the consumer whose queue is `queue` that exist, with a
/// warning on each that needs attention.
pub async fn survey(connection: &Connection, queue: &str) -> Result<Vec<QueueState>, CliError> {
    let mut found = Vec::new();
    if let Some(state) = ask(connection, queue, QueueRole::Single, None).await? {
        found.push(state);
    }
    for partition in 0..MAX_PARTITIONS {
        let name = format!("{queue}.p{partition}");
        if let Some(state) = ask(connection, &name, QueueRole::Partition, Some(partition)).await? {
            found.push(state);
        }
    }
    let dead_letters = format!("{queue}.dlq");
    if let Some(state) = ask(connection, &dead_letters, QueueRole::DeadLetters, None).await? {
        found.push(state);
    }
    let partitioned = found.iter().any(|q| q.role == QueueRole::Partition);
    for state in &mut found {
        state.warning = warning(state, queue, partitioned);
    }
    Ok(found)
}

/// The queue `name` if it exists.
async fn ask(
    connection: &Connection,
    name: &str,
    role: QueueRole,
    partition: Option<u16>,
) -> Result<Option<QueueState>, CliError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(CliError::broker("open a channel"))?;
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    match channel
        .queue_declare(name.into(), options, FieldTable::default())
        .await
    {
        Ok(queue) => {
            let _ = channel.close(200, "asked".into()).await;
            Ok(Some(QueueState {
                name: name.to_owned(),
                role,
                partition,
                messages: queue.message_count(),
                consumers: queue.consumer_count(),
                warning: None,
            }))
        }
        Err(error) => match error.kind() {
            ErrorKind::ProtocolError(amqp)
                if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)) =>
            {
                Ok(None)
            }
            _ => Err(CliError::broker(format!("look up queue {name}"))(error)),
        },
    }
}

/// What needs attention on `state`, one queue of the consumer of `queue`
/// (`partitioned`: partition queues exist).
fn warning(state: &QueueState, queue: &str, partitioned: bool) -> Option<String> {
    let name = &state.name;
    match state.role {
        QueueRole::DeadLetters if state.messages > 0 => Some(format!(
            "{} dead letter(s): see `es dead-letters list --queue {queue}`, move them back \
             with `es dead-letters redrive --queue {queue}`",
            state.messages
        )),
        QueueRole::DeadLetters => None,
        QueueRole::Single if partitioned => Some(format!(
            "a single queue beside partition queues: left from a run without partitions, \
             it stays bound to the exchange and keeps filling ({} message(s)) while the \
             partitions consume; drain it with one consumer on it (`--partitions 1`, \
             publishing stopped), then delete it: `rabbitmqctl delete_queue {name}`",
            state.messages
        )),
        _ if state.consumers == 0 => Some(format!(
            "no consumer: {} message(s) wait for one; start the consumer on it, or, if \
             nothing will consume it any more, delete it: `rabbitmqctl delete_queue {name}` \
             (its messages are lost)",
            state.messages
        )),
        _ => None,
    }
}
