//! The part of a stored event that rebuilding an aggregate needs.
//!
//! Loading an aggregate folds its stream's events into state: it reads each
//! event's version, type, schema version and payload, and never its id,
//! global position, metadata or timestamp. [`EventStore::replay_stream`]
//! yields this smaller type so that a store can leave those fields unread:
//! for PostgreSQL, fetching and decoding four columns instead of ten is most
//! of what loading a long stream costs on the client.
//!
//! [`EventStore::replay_stream`]: crate::EventStore::replay_stream

use serde_json::Value;

use crate::{DecodeError, DecodeFailure, DomainEvent, RecordedEvent, StreamId, Upcasters};

/// A stored event as replay sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    /// Version within the stream.
    pub version: u64,
    /// Event type name.
    pub event_type: String,
    /// Schema version of `payload` as stored.
    pub schema_version: u32,
    /// JSON payload as stored.
    pub payload: Value,
}

impl ReplayEvent {
    /// Upcasts the payload with `upcasters` and decodes it as `E`, consuming
    /// the event (the payload is moved, not copied). Errors name the stream
    /// (`stream_id`, which this event came from), version and event type.
    pub fn decode_with<E: DomainEvent>(
        self,
        stream_id: &StreamId,
        upcasters: &Upcasters,
    ) -> Result<E, DecodeError> {
        let error = |event_type: String, failure| {
            DecodeError::new(
                stream_id.clone(),
                self.version,
                event_type,
                self.schema_version,
                failure,
            )
        };
        let payload = match upcasters.upcast(&self.event_type, self.schema_version, self.payload) {
            Ok(payload) => payload,
            Err(failure) => return Err(error(self.event_type, failure)),
        };
        E::decode(&self.event_type, payload)
            .map_err(|e| error(self.event_type, DecodeFailure::Payload(e)))
    }
}

impl From<RecordedEvent> for ReplayEvent {
    fn from(event: RecordedEvent) -> Self {
        Self {
            version: event.version,
            event_type: event.event_type,
            schema_version: event.schema_version,
            payload: event.payload,
        }
    }
}
