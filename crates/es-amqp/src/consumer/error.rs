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
    /// A value does not fit AMQP (for example a queue name over 255 bytes),
    /// or the broker agreed to less than the consumer needs (a `frame_max`
    /// below [`MIN_FRAME_MAX`](crate::MIN_FRAME_MAX)): the consumer stops,
    /// since reconnecting would meet the same refusal.
    #[error("invalid consumer configuration: {0}")]
    Config(#[from] ConfigError),
    /// A message's headers did not fit this connection's `frame_max`, and
    /// the connection closed on it (`FRAME-ERROR`). Reconnecting would
    /// receive the same message first, for ever, so the consumer stops: the
    /// message waits at the head of the queue. Only a message published with
    /// larger headers than es-core's limits allow gets here (an event
    /// written before they applied, relayed through a connection with a
    /// larger `frame_max`); raise this consumer's `frame_max` to the relay's.
    #[error("a message's headers do not fit this connection's frame_max of {frame_max} bytes; raise it to the relay's: {reason}")]
    FrameTooLarge {
        /// The connection's negotiated `frame_max`.
        frame_max: u32,
        /// The broker or client's words.
        reason: String,
    },
}

impl ConsumerError {
    /// Whether retrying cannot help: the consumer stops on this error
    /// rather than reconnecting ([`Config`](Self::Config) and
    /// [`FrameTooLarge`](Self::FrameTooLarge); a
    /// [`Topology`](Self::Topology) error only before the first successful
    /// declaration).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ConsumerError::Config(_) | ConsumerError::FrameTooLarge { .. }
        )
    }

    /// This error, or [`FrameTooLarge`](Self::FrameTooLarge) if the
    /// connection it ended on was closed by the protocol's frame error.
    ///
    /// The frame error does not always reach the consumer itself: an
    /// acknowledgement in flight fails first with "channel closing". So the
    /// connection's own events (subscribed to when it opened) are read: a
    /// connection that is closing or closed reports the error that closed it
    /// at once, and the wait for it is bounded by `within`.
    pub(crate) async fn or_frame_error(
        self,
        connection: &lapin::Connection,
        events: &mut (impl futures::Stream<Item = lapin::Event> + Unpin),
        within: std::time::Duration,
    ) -> Self {
        use futures::StreamExt;
        let status = connection.status();
        if !(status.errored() || status.closing() || status.closed()) {
            return self;
        }
        let frame_max = connection.configuration().frame_max();
        let deadline = tokio::time::Instant::now() + within;
        // Channel errors may come first; the connection's own error ends the search.
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await {
            let lapin::Event::Error(error) = event else {
                continue;
            };
            match connection_error(&error) {
                Some(ConnectionError::Frame(reason)) => {
                    return ConsumerError::FrameTooLarge { frame_max, reason }
                }
                Some(ConnectionError::Other) => return self,
                None => {}
            }
        }
        self
    }
}

/// What closed a connection, as far as the consumer cares.
enum ConnectionError {
    /// The protocol's frame error (`FRAME-ERROR: frame too large`), in its words.
    Frame(String),
    /// Anything else that closes the connection (a network failure, the
    /// broker closing it).
    Other,
}

/// The connection error `error` reports, or `None` for a channel's error.
fn connection_error(error: &lapin::Error) -> Option<ConnectionError> {
    use lapin::protocol::{AMQPErrorKind, AMQPHardError};
    match error.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => match amqp.kind() {
            AMQPErrorKind::Hard(AMQPHardError::FRAMEERROR) => {
                Some(ConnectionError::Frame(amqp.get_message().to_string()))
            }
            AMQPErrorKind::Hard(_) => Some(ConnectionError::Other),
            AMQPErrorKind::Soft(_) => None,
        },
        _ => Some(ConnectionError::Other),
    }
}
