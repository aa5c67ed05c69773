//! Events for the crate's unit tests: one place that builds a
//! [`RecordedEvent`] with every field filled, so a test states only what it
//! is about (its stream and version, or its payload and metadata).

use es_core::{Metadata, Position, RecordedEvent, StreamId};

/// An event of type `Happened` at `version` of `stream`, with an empty
/// payload and metadata, positioned at sequence `version`.
pub(crate) fn event(stream: &str, version: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: uuid::Uuid::now_v7(),
        stream_id: StreamId::new(stream).expect("a valid test stream id"),
        version,
        position: Position::from_sequence(version),
        event_type: "Happened".into(),
        schema_version: 1,
        payload: serde_json::Value::Null,
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
    }
}
