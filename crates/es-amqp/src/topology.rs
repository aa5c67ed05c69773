//! The exchanges, queues and bindings a consumer needs.
//!
//! Declared on every (re)connect, and available on their own through
//! [`Consumer::declare`](crate::Consumer::declare), so the queue exists —
//! and collects events — whether or not the consumer runs. The queue is
//! durable (quorum by default, with a single active consumer so one queue is
//! consumed in order), dead-letters into a fanout exchange bound to a durable
//! dead-letter queue, and is bound to the event exchange with the configured
//! keys.

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Channel, ExchangeKind,
};

use crate::{ConsumerConfig, ConsumerError};

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

pub(crate) fn short(what: &str, value: &str) -> Result<ShortString, ConsumerError> {
    ShortString::try_new(value).map_err(|e| ConsumerError::Config(format!("{what} {value:?}: {e}")))
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
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
pub(crate) async fn declare(
    channel: &Channel,
    config: &ConsumerConfig,
) -> Result<(), lapin::Error> {
    let exchange = ShortString::from(config.exchange.as_str());
    let queue = ShortString::from(config.queue.as_str());
    let dlx = ShortString::from(config.dead_letter_exchange.as_str());
    let dlq = ShortString::from(config.dead_letter_queue.as_str());

    if config.declare_exchange {
        channel
            .exchange_declare(
                exchange.clone(),
                ExchangeKind::Topic,
                durable_exchange(),
                FieldTable::default(),
            )
            .await?;
    }
    channel
        .exchange_declare(
            dlx.clone(),
            ExchangeKind::Fanout,
            durable_exchange(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(dlq.clone(), durable_queue(), queue_type(config.queue_type))
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

    let mut args = queue_type(config.queue_type);
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(LongString::from(config.dead_letter_exchange.as_str())),
    );
    if config.single_active_consumer {
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    }
    if let (QueueType::Quorum, Some(limit)) = (config.queue_type, config.delivery_limit) {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(limit)),
        );
    }
    channel
        .queue_declare(queue.clone(), durable_queue(), args)
        .await?;
    for key in &config.binding_keys {
        channel
            .queue_bind(
                queue.clone(),
                exchange.clone(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Checks the names in `config` fit AMQP's 255-byte short strings, so that
/// [`declare`] cannot panic on conversion.
pub(crate) fn validate(config: &ConsumerConfig) -> Result<(), ConsumerError> {
    short("exchange", &config.exchange)?;
    short("queue", &config.queue)?;
    short("dead-letter exchange", &config.dead_letter_exchange)?;
    short("dead-letter queue", &config.dead_letter_queue)?;
    for key in &config.binding_keys {
        short("binding key", key)?;
    }
    if config.max_attempts == 0 {
        return Err(ConsumerError::Config(
            "max_attempts must be at least 1".into(),
        ));
    }
    Ok(())
}
