//! What stops or interrupts the relay.
//!
//! A connection failure, a nack or a late confirm is something the relay
//! recovers from on its own ([`RelayError::is_transient`]); an unroutable or
//! unpublishable event, or a checkpoint taken over by another relay, is
//! something a human must look at.

use es_core::{BoxError, Position, StoreError};
use uuid::Uuid;

use crate::{ConfigError, Unpublishable};

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
    /// The event can never be published as a message (see
    /// [`UnpublishablePolicy`](crate::UnpublishablePolicy)): retrying cannot
    /// help, so the relay stops with its checkpoint right before the event.
    #[error("event {event_id} (stream {stream_id:?}, version {version}, at {position}) can never be published: {reason}")]
    Unpublishable {
        /// The event.
        event_id: Uuid,
        /// Its stream.
        stream_id: String,
        /// Its version in the stream.
        version: u64,
        /// Its position in the global log.
        position: Position,
        /// Why it cannot be published.
        #[source]
        reason: Unpublishable,
    },
    /// The broker or the connection failed; the relay reconnects and
    /// republishes everything not confirmed.
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker did not answer in time: opening a connection took longer
    /// than [`RelayConfig::connect_timeout`](crate::RelayConfig::connect_timeout),
    /// or a request longer than
    /// [`RelayConfig::request_timeout`](crate::RelayConfig::request_timeout).
    /// The relay reconnects after its backoff and republishes what was not
    /// confirmed.
    #[error("the broker did not answer within {after:?} ({operation})")]
    TimedOut {
        /// What the relay was waiting for, e.g. `"connect"` or `"publish"`.
        operation: &'static str,
        /// How long it waited.
        after: std::time::Duration,
    },
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
    /// A value does not fit AMQP (for example an exchange name over 255 bytes).
    #[error("invalid relay configuration: {0}")]
    Config(#[from] ConfigError),
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
                | RelayError::TimedOut { .. }
                | RelayError::Nacked { .. }
                | RelayError::ConfirmTimeout { .. }
                | RelayError::Checkpoint(_)
        ) || matches!(self, RelayError::Store(e) if store_error_is_transient(e))
    }
}

/// Store errors a relay can wait out.
fn store_error_is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Backend(_))
}
