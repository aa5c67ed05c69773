//! How an event envelope travels as an AMQP message.
//!
//! The body is the event's JSON payload, exactly as stored, so consumers in
//! any language can read it. Everything else of the [`RecordedEvent`]
//! envelope travels in standard properties and `es-*` headers:
//!
//! | where | what |
//! | --- | --- |
//! | `message_id` | event id (UUID) |
//! | `content_type` | `application/json` |
//! | `delivery_mode` | 2 (persistent) |
//! | `type` | event type (when it fits 255 bytes) |
//! | `correlation_id` | correlation id, when set |
//! | `timestamp` | recorded at (seconds) |
//! | header [`HEADER_EVENT_TYPE`] | event type |
//! | header [`HEADER_STREAM_ID`] | stream id |
//! | header [`HEADER_VERSION`] | version in the stream |
//! | headers [`HEADER_POSITION_COMMIT`], [`HEADER_POSITION_SEQUENCE`] | global position |
//! | header [`HEADER_SCHEMA_VERSION`] | payload schema version |
//! | header [`HEADER_RECORDED_AT`] | recorded at (RFC 3339) |
//! | headers [`HEADER_CORRELATION_ID`], [`HEADER_CAUSATION_ID`] | when set |
//! | header [`HEADER_METADATA_EXTRA`] | extra metadata as JSON, when set |
//! | header [`HEADER_TRACEPARENT`] | the W3C trace context, when set |
//! | header [`HEADER_PARTITION_SLOT`] | the stream's [`partition_slot`], for consumer groups |
//!
//! [`decode`] turns a delivery back into the envelope and refuses (with a
//! [`WireError`]) anything that lacks what the envelope needs. The trace
//! context is best effort: a malformed `traceparent` is logged and left out,
//! never a reason to refuse (and so dead-letter) the event.

use chrono::{DateTime, Utc};
use es_core::{Metadata, Position, RecordedEvent, StreamId, TraceContext};
use lapin::{
    types::{AMQPValue, FieldTable, LongString, ShortString},
    BasicProperties,
};
use uuid::Uuid;

mod error;
mod partition_slot;

pub use error::WireError;
pub use partition_slot::{partition_slot, HEADER_PARTITION_SLOT, PARTITION_SLOTS};

/// Header: the event type.
pub const HEADER_EVENT_TYPE: &str = "es-event-type";
/// Header: the stream id.
pub const HEADER_STREAM_ID: &str = "es-stream-id";
/// Header: the version within the stream.
pub const HEADER_VERSION: &str = "es-version";
/// Header: the commit part of the global position.
pub const HEADER_POSITION_COMMIT: &str = "es-position-commit";
/// Header: the sequence part of the global position.
pub const HEADER_POSITION_SEQUENCE: &str = "es-position-sequence";
/// Header: the payload's schema version.
pub const HEADER_SCHEMA_VERSION: &str = "es-schema-version";
/// Header: when the store recorded the event (RFC 3339).
pub const HEADER_RECORDED_AT: &str = "es-recorded-at";
/// Header: the correlation id (also in the `correlation_id` property).
pub const HEADER_CORRELATION_ID: &str = "es-correlation-id";
/// Header: the causation id.
pub const HEADER_CAUSATION_ID: &str = "es-causation-id";
/// Header: the extra metadata, as JSON text.
pub const HEADER_METADATA_EXTRA: &str = "es-metadata-extra";
/// Header: the W3C trace context (`traceparent`, named as the W3C
/// trace-context AMQP protocol draft names it, so any traced consumer reads it).
pub const HEADER_TRACEPARENT: &str = "traceparent";
/// Header set on dead-lettered messages: why the message failed.
pub const HEADER_FAILURE: &str = "x-es-failure";
/// Header set on dead-lettered messages: how many times the handler ran.
pub const HEADER_ATTEMPTS: &str = "x-es-attempts";
/// Header set on dead-lettered messages: the queue that gave up on it.
pub const HEADER_FAILED_QUEUE: &str = "x-es-failed-queue";
/// Header set on dead-lettered messages: the original routing key.
pub const HEADER_ORIGINAL_ROUTING_KEY: &str = "x-es-original-routing-key";
/// Header set on dead-lettered messages: the original exchange.
pub const HEADER_ORIGINAL_EXCHANGE: &str = "x-es-original-exchange";
/// Header set on dead-lettered messages whose original headers were left out
/// because, with the failure headers added, they would not fit one frame.
pub const HEADER_HEADERS_DROPPED: &str = "x-es-original-headers-dropped";
/// Header set on dead-lettered messages: when it was dead-lettered (RFC 3339).
pub const HEADER_FAILED_AT: &str = "x-es-failed-at";

/// The content type of every message the relay publishes.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// Persistent delivery (survives a broker restart once in a durable queue).
pub const DELIVERY_MODE_PERSISTENT: u8 = 2;

fn int(what: &'static str, value: u64) -> Result<AMQPValue, WireError> {
    i64::try_from(value)
        .map(AMQPValue::LongLongInt)
        .map_err(|_| WireError::Encode {
            what,
            reason: format!("{value} is above i64::MAX"),
        })
}

fn text(value: impl Into<Vec<u8>>) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.into()))
}

/// The body and properties of the message for `event`.
pub fn encode(event: &RecordedEvent) -> Result<(Vec<u8>, BasicProperties), WireError> {
    let body = serde_json::to_vec(&event.payload).map_err(WireError::Body)?;
    let mut headers = FieldTable::default();
    headers.insert(HEADER_EVENT_TYPE.into(), text(event.event_type.as_str()));
    headers.insert(HEADER_STREAM_ID.into(), text(event.stream_id.as_str()));
    headers.insert(HEADER_VERSION.into(), int("version", event.version)?);
    headers.insert(
        HEADER_POSITION_COMMIT.into(),
        int("position.commit", event.position.commit)?,
    );
    headers.insert(
        HEADER_POSITION_SEQUENCE.into(),
        int("position.sequence", event.position.sequence)?,
    );
    headers.insert(
        HEADER_SCHEMA_VERSION.into(),
        AMQPValue::LongLongInt(i64::from(event.schema_version)),
    );
    headers.insert(
        HEADER_RECORDED_AT.into(),
        text(event.recorded_at.to_rfc3339()),
    );
    headers.insert(
        HEADER_PARTITION_SLOT.into(),
        AMQPValue::LongLongInt(i64::from(partition_slot(&event.stream_id))),
    );
    if let Some(id) = event.metadata.correlation_id {
        headers.insert(HEADER_CORRELATION_ID.into(), text(id.to_string()));
    }
    if let Some(id) = event.metadata.causation_id {
        headers.insert(HEADER_CAUSATION_ID.into(), text(id.to_string()));
    }
    if let Some(extra) = &event.metadata.extra {
        headers.insert(HEADER_METADATA_EXTRA.into(), text(extra.to_string()));
    }
    if let Some(context) = event.metadata.trace_context {
        headers.insert(HEADER_TRACEPARENT.into(), text(context.to_string()));
    }

    let mut properties = BasicProperties::default()
        .with_message_id(event.event_id.to_string().into())
        .with_content_type(CONTENT_TYPE_JSON.into())
        .with_delivery_mode(DELIVERY_MODE_PERSISTENT)
        .with_timestamp(u64::try_from(event.recorded_at.timestamp()).unwrap_or(0))
        .with_headers(headers);
    if let Ok(kind) = ShortString::try_new(event.event_type.as_str()) {
        properties = properties.with_type(kind);
    }
    if let Some(id) = event.metadata.correlation_id {
        properties = properties.with_correlation_id(id.to_string().into());
    }
    Ok((body, properties))
}

/// Bytes of a content header frame besides the properties: frame type,
/// channel and size (7), class id, weight and body size (12), frame end (1).
const HEADER_FRAME_OVERHEAD: usize = 20;

/// The size of the content header frame that carries `properties`: it must
/// not exceed the connection's negotiated `frame_max`, or the broker closes
/// the connection.
pub(crate) fn header_frame_len(properties: &BasicProperties) -> Result<usize, WireError> {
    let encoded = cookie_factory::gen_simple(
        lapin::protocol::basic::gen_properties(properties),
        Vec::new(),
    )
    .map_err(|e| WireError::Encode {
        what: "properties",
        reason: e.to_string(),
    })?;
    Ok(encoded.len() + HEADER_FRAME_OVERHEAD)
}

/// `text` cut to at most `max` bytes (on a character boundary), for header
/// values whose length is not bounded otherwise.
pub(crate) fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn header<'a>(headers: &'a FieldTable, name: &'static str) -> Option<&'a AMQPValue> {
    headers.inner().get(name)
}

fn invalid(header: &'static str, reason: impl Into<String>) -> WireError {
    WireError::InvalidHeader {
        header,
        reason: reason.into(),
    }
}

/// Reads a string header (long or short string).
pub fn header_str(headers: &FieldTable, name: &'static str) -> Result<Option<String>, WireError> {
    match header(headers, name) {
        None | Some(AMQPValue::Void) => Ok(None),
        Some(AMQPValue::LongString(s)) => String::from_utf8(s.as_bytes().to_vec())
            .map(Some)
            .map_err(|_| invalid(name, "not UTF-8")),
        Some(AMQPValue::ShortString(s)) => Ok(Some(s.as_str().to_owned())),
        Some(other) => Err(invalid(name, format!("expected a string, got {other:?}"))),
    }
}

fn required_str(headers: &FieldTable, name: &'static str) -> Result<String, WireError> {
    header_str(headers, name)?.ok_or(WireError::MissingHeader(name))
}

/// Reads an integer header of any integer AMQP type.
pub fn header_u64(headers: &FieldTable, name: &'static str) -> Result<Option<u64>, WireError> {
    let Some(value) = header(headers, name) else {
        return Ok(None);
    };
    let signed: i64 = match value {
        AMQPValue::ShortShortInt(v) => i64::from(*v),
        AMQPValue::ShortShortUInt(v) => i64::from(*v),
        AMQPValue::ShortInt(v) => i64::from(*v),
        AMQPValue::ShortUInt(v) => i64::from(*v),
        AMQPValue::LongInt(v) => i64::from(*v),
        AMQPValue::LongUInt(v) => i64::from(*v),
        AMQPValue::LongLongInt(v) => *v,
        AMQPValue::Timestamp(v) => {
            return Ok(Some(*v));
        }
        other => return Err(invalid(name, format!("expected an integer, got {other:?}"))),
    };
    u64::try_from(signed)
        .map(Some)
        .map_err(|_| invalid(name, format!("negative value {signed}")))
}

fn required_u64(headers: &FieldTable, name: &'static str) -> Result<u64, WireError> {
    header_u64(headers, name)?.ok_or(WireError::MissingHeader(name))
}

fn optional_uuid(headers: &FieldTable, name: &'static str) -> Result<Option<Uuid>, WireError> {
    header_str(headers, name)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| invalid(name, e.to_string())))
        .transpose()
}

/// The correlation id of a message, from the header or the property, if any
/// (used for tracing even when the rest does not decode).
pub fn correlation_id(properties: &BasicProperties) -> Option<String> {
    properties
        .headers()
        .as_ref()
        .and_then(|h| header_str(h, HEADER_CORRELATION_ID).ok().flatten())
        .or_else(|| {
            properties
                .correlation_id()
                .as_ref()
                .map(|c| c.as_str().to_owned())
        })
}

/// The W3C trace context of a message, from its [`HEADER_TRACEPARENT`]
/// header: `Ok(None)` when there is none, [`WireError::InvalidHeader`] when
/// it is not a string or not a valid `traceparent`.
pub fn trace_context(headers: &FieldTable) -> Result<Option<TraceContext>, WireError> {
    header_str(headers, HEADER_TRACEPARENT)?
        .map(|value| {
            TraceContext::parse(&value).map_err(|e| invalid(HEADER_TRACEPARENT, e.to_string()))
        })
        .transpose()
}

/// Turns a message (properties and body) back into the event envelope.
///
/// A malformed `traceparent` header is logged (warning) and leaves the
/// event's trace context empty: a trace is best effort.
pub fn decode(properties: &BasicProperties, body: &[u8]) -> Result<RecordedEvent, WireError> {
    let event_id = properties
        .message_id()
        .as_ref()
        .and_then(|id| Uuid::parse_str(id.as_str()).ok())
        .ok_or(WireError::MessageId)?;
    let empty = FieldTable::default();
    let headers = properties.headers().as_ref().unwrap_or(&empty);

    let stream_id = StreamId::new(required_str(headers, HEADER_STREAM_ID)?)
        .map_err(|e| invalid(HEADER_STREAM_ID, e.to_string()))?;
    let event_type = required_str(headers, HEADER_EVENT_TYPE)?;
    let version = required_u64(headers, HEADER_VERSION)?;
    if version == 0 {
        return Err(invalid(HEADER_VERSION, "versions start at 1"));
    }
    let position = Position::new(
        required_u64(headers, HEADER_POSITION_COMMIT)?,
        required_u64(headers, HEADER_POSITION_SEQUENCE)?,
    );
    let schema_version = u32::try_from(required_u64(headers, HEADER_SCHEMA_VERSION)?)
        .map_err(|e| invalid(HEADER_SCHEMA_VERSION, e.to_string()))?;
    let recorded_at = DateTime::parse_from_rfc3339(&required_str(headers, HEADER_RECORDED_AT)?)
        .map_err(|e| invalid(HEADER_RECORDED_AT, e.to_string()))?
        .with_timezone(&Utc);
    let extra = header_str(headers, HEADER_METADATA_EXTRA)?
        .map(|s| {
            serde_json::from_str(&s).map_err(|e| invalid(HEADER_METADATA_EXTRA, e.to_string()))
        })
        .transpose()?;
    let trace_context = trace_context(headers).unwrap_or_else(|error| {
        tracing::warn!(%error, "ignoring the message's malformed traceparent header");
        None
    });
    let metadata = Metadata {
        correlation_id: optional_uuid(headers, HEADER_CORRELATION_ID)?,
        causation_id: optional_uuid(headers, HEADER_CAUSATION_ID)?,
        trace_context,
        extra,
    };
    let payload = serde_json::from_slice(body).map_err(WireError::Body)?;
    Ok(RecordedEvent {
        event_id,
        stream_id,
        version,
        position,
        event_type,
        schema_version,
        payload,
        metadata,
        recorded_at,
    })
}

#[cfg(test)]
mod tests;
