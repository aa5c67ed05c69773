//! What interrupts or stops the consumer: connection failures it recovers
//! from by reconnecting, and topology or dead-letter failures a human must
//! look at.

use crate::ConfigError;

/// Errors of the [`Consumer`](crate::Consumer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// The broker or the connection failed; the consumer reconnects and the
    /// broker redelivers every message that was not acknowledged.
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker did not answer in time: opening a connection took longer
    /// than [`ConsumerConfig::connect_timeout`](crate::ConsumerConfig::connect_timeout),
    /// or a request (declaring, acknowledging, dead-lettering, checking the
    /// queue while idle) longer than
    /// [`ConsumerConfig::request_timeout`](crate::ConsumerConfig::request_timeout).
    /// The consumer drops the connection and reconnects after its backoff;
    /// the broker redelivers what was not acknowledged.
    #[error("the broker did not answer within {after:?} ({operation})")]
    TimedOut {
        /// What the consumer was waiting for, e.g. `"connect"` or `"ack"`.
        operation: &'static str,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// Declaring the queues and exchanges failed the first time (for example
    /// a queue that exists with other arguments): a configuration error.
    #[error("cannot declare the consumer's topology: {0}")]
    Topology(#[source] lapin::Error),
    /// A dead-lettered message was returned by the broker: the dead-letter
    /// exchange has no queue bound.
    #[error("the dead-letter exchange {exchange:?} returned a message: {reply_text}")]
    DeadLetterUnroutable {
        /// The dead-letter exchange.
        exchange: String,
        /// The broker's reply text.
        reply_text: String,
    },
    /// The broker nacked a dead-lettered message.
    #[error("the broker nacked a message sent to the dead-letter exchange {0:?}")]
    DeadLetterNacked(String),
    /// The broker cancelled the consumer (for example the queue was deleted);
    /// the consumer reconnects and declares its queue again.
    #[error("the broker cancelled the consumer")]
    Cancelled,
    /// A value does not fit AMQP (for example a queue name over 255 bytes).
    #[error("invalid consumer configuration: {0}")]
    Config(#[from] ConfigError),
}
