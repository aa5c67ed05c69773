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

use crate::{
    upcasters::decode_current, DecodeError, DomainEvent, RecordedEvent, StreamId, Upcasters,
};

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
    /// the event (the payload is moved, not copied); a chain that does not
    /// reach the current version exactly is a
    /// [`DecodeFailure::SchemaVersionGap`](crate::DecodeFailure::SchemaVersionGap).
    /// Errors name the stream (`stream_id`, which this event came from),
    /// version and event type.
    pub fn decode_with<E: DomainEvent>(
        self,
        stream_id: &StreamId,
        upcasters: &Upcasters,
    ) -> Result<E, DecodeError> {
        decode_current(
            upcasters,
            &self.event_type,
            self.schema_version,
            self.payload,
        )
        .map_err(|failure| {
            DecodeError::new(
                stream_id.clone(),
                self.version,
                self.event_type,
                self.schema_version,
                failure,
            )
        })
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
