//! Reading a dead-letter queue without losing or reordering anything.
//!
//! AMQP 0-9-1 has no "peek". Messages are taken with `basic.get` without
//! acknowledging them: each stays owned by our channel, so the next get
//! returns the next message and nothing is read twice. When we are done, one
//! `basic.nack(multiple, requeue)` returns every message still held; RabbitMQ
//! puts requeued messages back at their original place at the head of the
//! queue, in order. If `es` dies half-way, closing the connection returns
//! them the same way. Only `redrive` acknowledges (removes) a message, and
//! only after the broker confirmed its copy in the target queue.

use std::collections::BTreeSet;

use es_amqp::lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicGetOptions, BasicNackOptions, QueueDeclareOptions, QueuePurgeOptions,
    },
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::{FieldTable, ShortString},
    Channel, Connection, ErrorKind,
};

use super::DeadLetter;
use crate::error::CliError;

/// A message taken (not yet acknowledged) from the dead-letter queue.
pub struct TakenMessage {
    /// The delivery, with its properties and body.
    pub delivery: Delivery,
    /// What es-amqp recorded on it.
    pub dead_letter: DeadLetter,
}

/// A dead-letter queue on one channel of ours.
pub struct DeadLetterQueue {
    channel: Channel,
    name: ShortString,
    message_count: u32,
    /// Delivery tags taken and neither acknowledged nor returned yet.
    outstanding: BTreeSet<u64>,
}

impl DeadLetterQueue {
    /// Opens the existing queue `name` (never creates one).
    pub async fn open(connection: &Connection, name: &str) -> Result<Self, CliError> {
        let short = ShortString::try_new(name)
            .map_err(|error| CliError::Usage(format!("bad queue name {name:?}: {error}")))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(CliError::broker("open a channel"))?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare(short.clone(), options, FieldTable::default())
            .await
            .map_err(|error| match error.kind() {
                ErrorKind::ProtocolError(amqp)
                    if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)) =>
                {
                    CliError::QueueNotFound {
                        queue: name.to_owned(),
                    }
                }
                _ => CliError::broker(format!("look up queue {name}"))(error),
            })?;
        Ok(Self {
            channel,
            name: short,
            message_count: queue.message_count(),
            outstanding: BTreeSet::new(),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// How many messages the queue held when opened.
    pub fn message_count(&self) -> u32 {
        self.message_count
    }

    /// Takes messages from the head of the queue, at most `limit` (all when
    /// `None`), keeping them unacknowledged.
    pub async fn take(&mut self, limit: Option<usize>) -> Result<Vec<TakenMessage>, CliError> {
        let mut taken = Vec::new();
        while limit.is_none_or(|limit| taken.len() < limit) {
            let got = self
                .channel
                .basic_get(self.name.clone(), BasicGetOptions { no_ack: false })
                .await
                .map_err(CliError::broker(format!("get from {}", self.name)))?;
            let Some(message) = got else {
                break;
            };
            self.outstanding.insert(message.delivery.delivery_tag);
            let dead_letter = DeadLetter::from_delivery(&message.delivery);
            taken.push(TakenMessage {
                delivery: message.delivery,
                dead_letter,
            });
        }
        Ok(taken)
    }

    /// Removes a taken message for good (after its copy was confirmed).
    pub async fn ack(&mut self, message: &TakenMessage) -> Result<(), CliError> {
        let tag = message.delivery.delivery_tag;
        self.channel
            .basic_ack(tag, BasicAckOptions::default())
            .await
            .map_err(CliError::broker(format!(
                "acknowledge a message of {}",
                self.name
            )))?;
        self.outstanding.remove(&tag);
        Ok(())
    }

    /// Puts every message still taken back at the head of the queue, in order.
    pub async fn return_all(&mut self) -> Result<(), CliError> {
        // `multiple` returns every outstanding tag up to this one; it must
        // name a tag still outstanding, so not one already acknowledged.
        let Some(&last) = self.outstanding.last() else {
            return Ok(());
        };
        let options = BasicNackOptions {
            multiple: true,
            requeue: true,
        };
        self.channel
            .basic_nack(last, options)
            .await
            .map_err(CliError::broker(format!(
                "return messages to {}",
                self.name
            )))?;
        self.outstanding.clear();
        Ok(())
    }

    /// Deletes every message of the queue; returns how many.
    pub async fn purge(&self) -> Result<u32, CliError> {
        self.channel
            .queue_purge(self.name.clone(), QueuePurgeOptions::default())
            .await
            .map_err(CliError::broker(format!("purge {}", self.name)))
    }
}
