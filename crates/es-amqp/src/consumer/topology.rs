//! The exchanges, queues and bindings a consumer needs.
//!
//! Declared on every (re)connect, and available on their own through
//! [`Consumer::declare`](crate::Consumer::declare), so the queue exists —
//! and collects events — whether or not the consumer runs. The queue is
//! durable (quorum by default, with a single active consumer so one queue is
//! consumed in order), dead-letters into a fanout exchange bound to a durable
//! dead-letter queue, and is bound to the event exchange with the configured
//! keys — or, for a partition of a [`ConsumerGroup`](crate::ConsumerGroup),
//! to the group's partition exchange by slot (see `group::route`).

use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString},
    Channel, ExchangeKind,
};

use crate::{config_error::short, exchange::declare_durable, ConsumerConfig, ConsumerError};

/// The kind of queue the consumer declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// A replicated Raft queue: durable, ordered, tracks delivery counts.
    #[default]
    Quorum,
    /// A classic (single-node) durable queue.
    Classic,
}

impl QueueType {
    fn as_str(self) -> &'static str {
        match self {
            QueueType::Quorum => "quorum",
            QueueType::Classic => "classic",
        }
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn queue_type(kind: QueueType) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(kind.as_str())),
    );
    args
}

/// Declares everything `config` describes on `channel`.
///
/// A failure here is [`ConsumerError::Topology`] (a queue that exists with
/// other arguments, for example), or [`ConsumerError::Amqp`] for a lost
/// connection.
pub(crate) async fn declare(
    channel: &Channel,
    config: &ConsumerConfig,
) -> Result<(), ConsumerError> {
    let exchange = short("exchange", config.exchange())?;
    let queue = short("queue", config.queue())?;
    let dlx = short("dead-letter exchange", config.dead_letter_exchange())?;
    let dlq = short("dead-letter queue", config.dead_letter_queue())?;
    let mut keys = Vec::with_capacity(config.binding_keys().len());
    for key in config.binding_keys() {
        keys.push(short("binding key", key)?);
    }
    declare_names(channel, config, [exchange, queue, dlx, dlq], keys)
        .await
        .map_err(ConsumerError::Topology)
}

async fn declare_names(
    channel: &Channel,
    config: &ConsumerConfig,
    [exchange, queue, dlx, dlq]: [lapin::types::ShortString; 4],
    keys: Vec<lapin::types::ShortString>,
) -> Result<(), lapin::Error> {
    if config.declares_exchange() {
        declare_durable(channel, exchange.clone(), ExchangeKind::Topic).await?;
    }
    declare_durable(channel, dlx.clone(), ExchangeKind::Fanout).await?;
    channel
        .queue_declare(
            dlq.clone(),
            durable_queue(),
            queue_type(config.queue_type()),
        )
        .await?;
    channel
        .queue_bind(
            dlq,
            dlx.clone(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let mut args = queue_type(config.queue_type());
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(LongString::from(config.dead_letter_exchange())),
    );
    if config.single_active_consumer() {
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    }
    if let (QueueType::Quorum, Some(limit)) = (config.queue_type(), config.delivery_limit()) {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(limit)),
        );
    }
    channel
        .queue_declare(queue.clone(), durable_queue(), args)
        .await?;
    if let Some(route) = config.partition() {
        return route.bind(channel, &exchange, &queue, keys).await;
    }
    for key in keys {
        channel
            .queue_bind(
                queue.clone(),
                exchange.clone(),
                key,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}
