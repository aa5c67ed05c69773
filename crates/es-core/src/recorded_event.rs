//! The envelope of a stored event.
//!
//! What a store hands back: the event as written plus everything the store
//! assigned (stream version, global position, time). Projections, relays and
//! consumers all work on this one type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{DecodeError, DecodeFailure, DomainEvent, Metadata, Position, StreamId, Upcasters};

/// A committed event with its place in its stream and in the global log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Unique id (UUID v7 when made by this crate).
    pub event_id: Uuid,
    /// The stream the event belongs to.
    pub stream_id: StreamId,
    /// Version within the stream: 1, 2, 3, … without holes.
    pub version: u64,
    /// Place in the global log.
    pub position: Position,
    /// Event type name.
    pub event_type: String,
    /// Schema version of `payload` as stored.
    pub schema_version: u32,
    /// JSON payload as stored.
    pub payload: Value,
    /// Correlation, causation and extra metadata.
    pub metadata: Metadata,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Decodes the payload as `E` (no upcasting). The error names stream,
    /// version and event type.
    pub fn decode<E: DomainEvent>(&self) -> Result<E, DecodeError> {
        E::decode(&self.event_type, self.payload.clone())
            .map_err(|e| self.decode_error(DecodeFailure::Payload(e)))
    }

    /// Upcasts the payload to the current schema version with `upcasters`,
    /// then decodes it as `E`.
    pub fn decode_with<E: DomainEvent>(&self, upcasters: &Upcasters) -> Result<E, DecodeError> {
        let payload = upcasters
            .upcast(&self.event_type, self.schema_version, self.payload.clone())
            .map_err(|failure| self.decode_error(failure))?;
        E::decode(&self.event_type, payload)
            .map_err(|e| self.decode_error(DecodeFailure::Payload(e)))
    }

    /// A [`DecodeError`] about this event.
    pub fn decode_error(&self, failure: DecodeFailure) -> DecodeError {
        DecodeError::new(
            self.stream_id.clone(),
            self.version,
            self.event_type.clone(),
            self.schema_version,
            failure,
        )
        .with_position(self.position)
    }
}
