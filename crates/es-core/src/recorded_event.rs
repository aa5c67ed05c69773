//! The envelope of a stored event.
//!
//! What a store hands back: the event as written plus everything the store
//! assigned (stream version, global position, time). Projections, relays and
//! consumers all work on this one type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    upcasters::decode_current, DecodeError, DecodeFailure, DomainEvent, Metadata, Position,
    StreamId, Upcasters,
};

/// A committed event with its place in its stream and in the global log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Unique id (made by this crate: UUID v7, or UUID v5 derived from an
    /// [`IdempotencyKey`](crate::IdempotencyKey)).
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
    /// Decodes the payload as `E` without upcasting: the stored schema
    /// version must be the decoded event's current one (see
    /// [`DecodeFailure::SchemaVersionGap`]). The error names stream, version
    /// and event type.
    pub fn decode<E: DomainEvent>(&self) -> Result<E, DecodeError> {
        self.decode_with(&Upcasters::new())
    }

    /// Upcasts the payload to the current schema version with `upcasters`,
    /// then decodes it as `E`; a chain that does not reach the current version
    /// exactly is a [`DecodeFailure::SchemaVersionGap`].
    pub fn decode_with<E: DomainEvent>(&self, upcasters: &Upcasters) -> Result<E, DecodeError> {
        decode_current(
            upcasters,
            &self.event_type,
            self.schema_version,
            self.payload.clone(),
        )
        .map_err(|failure| self.decode_error(failure))
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
