//! Errors of the relay, the consumer and the wire format.
//!
//! Typed enums a caller can match on: a connection failure is something the
//! relay and the consumer recover from on their own; an unroutable event or a
//! checkpoint taken over by another relay is something a human must look at.

use es_core::{BoxError, Position, StoreError};
use uuid::Uuid;

/// Why a message could not be turned back into an event envelope.
///
/// The consumer dead-letters such a message at once (retrying cannot help)
/// and records this error's text in the `x-es-failure` header.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A header the envelope needs is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but has the wrong type or an unparsable value.
    #[error("invalid header {header}: {reason}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The message has no `message_id`, or it is not a UUID.
    #[error("missing or invalid message_id (expected the event id as a UUID)")]
    MessageId,
    /// The body is not JSON.
    #[error("body is not JSON: {0}")]
    Body(#[source] serde_json::Error),
    /// A value does not fit the AMQP encoding (for example an integer above `i64::MAX`).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// The field being encoded.
        what: &'static str,
        /// Why it does not fit.
        reason: String,
    },
}

/// Errors of the [`Relay`](crate::Relay).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The broker returned a `mandatory` message: no queue is bound for its
    /// routing key. The relay's checkpoint stays before this event.
    #[error("event {event_id} at {position} was unroutable on exchange {exchange:?} with routing key {routing_key:?} ({reply_code} {reply_text})")]
    Unroutable {
        /// The event that could not be routed.
        event_id: Uuid,
        /// Its position in the global log.
        position: Position,
        /// The exchange it was published to.
        exchange: String,
        /// The routing key it was published with.
        routing_key: String,
        /// The broker's reply code (312 = NO_ROUTE).
        reply_code: u16,
        /// The broker's reply text.
        reply_text: String,
    },
    /// The routing-key function produced a key the broker cannot take.
    #[error("invalid routing key for event {event_id}: {reason}")]
    InvalidRoutingKey {
        /// The event.
        event_id: Uuid,
        /// Why (AMQP routing keys are at most 255 bytes).
        reason: String,
    },
    /// The event could not be encoded as a message.
    #[error("cannot encode event {event_id}: {source}")]
    Encode {
        /// The event.
        event_id: Uuid,
        /// What went wrong.
        #[source]
        source: WireError,
    },
    /// The broker or the connection failed; the relay reconnects and
    /// republishes everything not confirmed.
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker refused (nacked) a publish; the relay republishes it.
    #[error("the broker nacked event {event_id} at {position}")]
    Nacked {
        /// The event.
        event_id: Uuid,
        /// Its position.
        position: Position,
    },
    /// The broker did not confirm a publish in time; the relay reconnects
    /// and republishes it.
    #[error("no confirm for event {event_id} at {position} in time")]
    ConfirmTimeout {
        /// The oldest unconfirmed event.
        event_id: Uuid,
        /// Its position.
        position: Position,
    },
    /// Reading the event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Loading or saving the relay's checkpoint failed.
    #[error("relay checkpoint error: {0}")]
    Checkpoint(#[source] BoxError),
    /// The configuration is not usable (e.g. an exchange name over 255 bytes).
    #[error("invalid relay configuration: {0}")]
    Config(String),
    /// Another relay with the same name moved the checkpoint: two relays run
    /// under one name. This relay stops.
    #[error("the checkpoint of relay {relay} moved from {expected} to {actual} under this relay")]
    CheckpointMoved {
        /// The relay's name.
        relay: String,
        /// The checkpoint this relay saved last.
        expected: Position,
        /// The checkpoint found.
        actual: Position,
    },
}

impl RelayError {
    /// Whether the relay recovers from this error by itself (reconnect,
    /// re-read, republish) rather than stopping.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RelayError::Amqp(_)
                | RelayError::Nacked { .. }
                | RelayError::ConfirmTimeout { .. }
                | RelayError::Checkpoint(_)
        ) || matches!(self, RelayError::Store(e) if crate::relay::store_error_is_transient(e))
    }
}

/// Errors of the [`Consumer`](crate::Consumer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// The broker or the connection failed; the consumer reconnects and the
    /// broker redelivers every message that was not acknowledged.
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
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
    /// The configuration is not usable.
    #[error("invalid consumer configuration: {0}")]
    Config(String),
}
