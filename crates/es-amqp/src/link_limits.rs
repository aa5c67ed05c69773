//! What a connection must allow for a relay or a consumer to make progress.
//!
//! Two connection settings can make progress impossible whatever the
//! broker does, and used to make a relay or consumer reconnect for ever:
//!
//! * `frame_max`: the content header frame (properties and headers) of a
//!   message must fit one frame. A consumer whose URL set `frame_max=8192`
//!   received an event with 65,906 bytes of headers, closed its connection
//!   with `FRAME-ERROR: frame too large`, reconnected, got the same message
//!   again, 21 times in 90 s, and nothing behind it was handled. The
//!   largest header frame of an event within es-core's
//!   [`limits`](es_core::backend::limits) is 67,184 bytes (measured by this module's
//!   test: a 1,024-byte stream id, a 128-byte event type, 64 KiB of
//!   metadata); a consumer also receives the headers its own dead-lettering
//!   adds to a message moved back (`x-es-failure`, up to 4 KiB) and the
//!   broker's (`x-death`, `x-delivery-count`). [`MIN_FRAME_MAX`] covers all
//!   of it.
//! * `channel_max`: a relay publishes on one channel, a consumer consumes on
//!   one and dead-letters on another; a connection allowing fewer can never
//!   start.
//!
//! Both are checked twice: when the configuration is built, against the
//! URL's query (`?frame_max=…&channel_max=…`, [`ConfigError::TooSmall`]),
//! and after every connect, against what the broker agreed to (a broker
//! configured with a small `frame_max` lowers it for every client): the
//! relay and the consumer then stop with that error instead of
//! reconnecting. `0` (no limit) and values at or above the minimum are
//! fine; RabbitMQ's defaults (131,072 bytes, 2,047 channels) are.

use lapin::uri::AMQPQueryString;

use crate::ConfigError;

/// The smallest `frame_max` (bytes) a relay or consumer works with: 80 KiB.
///
/// Every message's content header frame (properties and headers) must fit
/// one frame. The largest one of an event within es-core's
/// [`limits`](es_core::backend::limits) is 67,184 bytes (a 1,024-byte stream id, a
/// 128-byte event type, 64 KiB of metadata); a consumer also receives what
/// its dead-lettering adds to a message moved back (`x-es-failure`, up to
/// 4 KiB) and what the broker adds (`x-death`, `x-delivery-count`). A URL
/// asking for less is refused when the configuration is built
/// ([`ConfigError::TooSmall`]); a broker agreeing to less stops the relay
/// or consumer with that error on connect. RabbitMQ's default is 131,072.
pub const MIN_FRAME_MAX: u32 = 80 * 1024;

/// Checks the `frame_max` and `channel_max` a URL asks for leave room for
/// `channels` channels and every event's headers.
pub(crate) fn check_url(query: &AMQPQueryString, channels: u16) -> Result<(), ConfigError> {
    at_least("frame_max", query.frame_max, MIN_FRAME_MAX)?;
    at_least(
        "channel_max",
        query.channel_max.map(u32::from),
        u32::from(channels),
    )
}

/// Checks the `frame_max` and `channel_max` the broker agreed to on a
/// connection (see [`check_url`]).
pub(crate) fn check_negotiated(
    frame_max: u32,
    channel_max: u16,
    channels: u16,
) -> Result<(), ConfigError> {
    at_least(
        "frame_max agreed with the broker",
        Some(frame_max),
        MIN_FRAME_MAX,
    )?;
    at_least(
        "channel_max agreed with the broker",
        Some(u32::from(channel_max)),
        u32::from(channels),
    )
}

/// `value` is unset, `0` (no limit) or at least `min`.
fn at_least(field: &'static str, value: Option<u32>, min: u32) -> Result<(), ConfigError> {
    match value {
        Some(value) if value != 0 && value < min => Err(ConfigError::TooSmall {
            field,
            value: u64::from(value),
            min: u64::from(min),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use es_core::{
        backend::limits::{
            MAX_CATEGORY_BYTES, MAX_EVENT_TYPE_BYTES, MAX_METADATA_BYTES, MAX_SCHEMA_VERSION,
            MAX_STREAM_ID_BYTES,
        },
        Metadata, Position, RecordedEvent, StreamId, TraceContext,
    };
    use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};
    use uuid::Uuid;

    use super::*;
    use crate::wire;

    /// The event within es-core's limits with the largest headers: the
    /// longest stream id and event type, metadata of exactly the limit.
    fn largest_event(with_ids: bool) -> RecordedEvent {
        let mut metadata = Metadata::default();
        if with_ids {
            metadata.correlation_id = Some(Uuid::now_v7());
            metadata.causation_id = Some(Uuid::now_v7());
            metadata.trace_context = Some(TraceContext::new_root());
        }
        let empty = Metadata {
            extra: Some(serde_json::json!("")),
            ..metadata.clone()
        };
        let base = serde_json::to_vec(&empty).expect("metadata").len();
        metadata.extra = Some(serde_json::json!("m".repeat(MAX_METADATA_BYTES - base)));
        assert_eq!(
            serde_json::to_vec(&metadata).expect("metadata").len(),
            MAX_METADATA_BYTES
        );
        let category = "c".repeat(MAX_CATEGORY_BYTES);
        let id = "x".repeat(MAX_STREAM_ID_BYTES - MAX_CATEGORY_BYTES - 1);
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream_id: StreamId::new(format!("{category}-{id}")).expect("at the limit"),
            version: i64::MAX as u64,
            position: Position::new(i64::MAX as u64, i64::MAX as u64),
            event_type: "T".repeat(MAX_EVENT_TYPE_BYTES),
            schema_version: MAX_SCHEMA_VERSION,
            payload: serde_json::Value::Null,
            metadata,
            // Nanoseconds: the longest RFC 3339 text.
            recorded_at: Utc.timestamp_nanos(1_700_000_000_123_456_789),
        }
    }

    fn header_frame(event: &RecordedEvent, extra_headers: FieldTable) -> usize {
        let (_, properties) = wire::encode(event).expect("encodes");
        let mut headers = properties.headers().clone().unwrap_or_default();
        for (key, value) in extra_headers.inner() {
            headers.insert(key.clone(), value.clone());
        }
        wire::header_frame_len(&properties.with_headers(headers)).expect("measures")
    }

    #[test]
    fn every_event_within_the_limits_fits_the_smallest_frame_with_room_to_spare() {
        let largest = header_frame(&largest_event(true), FieldTable::default())
            .max(header_frame(&largest_event(false), FieldTable::default()));
        assert_eq!(largest, 67_184, "the figure in the module docs");
        // What dead-lettering and a move back through the broker add, at
        // their largest.
        let text = |bytes: usize| AMQPValue::LongString(LongString::from("t".repeat(bytes)));
        let long_name = || text(crate::SHORT_STRING_MAX);
        let mut death = FieldTable::default();
        for key in ["queue", "exchange", "reason"] {
            death.insert(key.into(), long_name());
        }
        death.insert("count".into(), AMQPValue::LongLongInt(i64::MAX));
        death.insert("time".into(), AMQPValue::Timestamp(u64::MAX));
        death.insert(
            "routing-keys".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![long_name()])),
        );
        let mut added = FieldTable::default();
        added.insert(
            wire::HEADER_FAILURE.into(),
            text(crate::consumer::dead_letter::FAILURE_TEXT_MAX),
        );
        added.insert(
            wire::HEADER_ATTEMPTS.into(),
            AMQPValue::LongLongInt(i64::MAX),
        );
        for key in [
            wire::HEADER_FAILED_QUEUE,
            wire::HEADER_ORIGINAL_EXCHANGE,
            wire::HEADER_ORIGINAL_ROUTING_KEY,
            wire::HEADER_FAILED_AT,
        ] {
            added.insert(key.into(), long_name());
        }
        added.insert("x-delivery-count".into(), AMQPValue::LongLongInt(i64::MAX));
        added.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death); 4])),
        );
        let redriven = header_frame(&largest_event(true), added);
        assert!(
            redriven <= MIN_FRAME_MAX as usize,
            "{redriven} > {MIN_FRAME_MAX}"
        );
    }

    #[test]
    fn smaller_frames_and_fewer_channels_are_refused_unset_and_zero_are_not() {
        let query = |q: &str| {
            format!("amqp://localhost/%2f?{q}")
                .parse::<lapin::uri::AMQPUri>()
                .expect("a URL")
                .query
        };
        assert_eq!(
            check_url(&query("frame_max=8192"), 1),
            Err(ConfigError::TooSmall {
                field: "frame_max",
                value: 8_192,
                min: u64::from(MIN_FRAME_MAX)
            })
        );
        assert_eq!(
            check_url(&query(&format!("frame_max={MIN_FRAME_MAX}")), 1),
            Ok(())
        );
        assert!(check_url(&query(&format!("frame_max={}", MIN_FRAME_MAX - 1)), 1).is_err());
        assert_eq!(
            check_url(&query("channel_max=1"), 2),
            Err(ConfigError::TooSmall {
                field: "channel_max",
                value: 1,
                min: 2
            })
        );
        assert_eq!(check_url(&query("channel_max=1"), 1), Ok(()));
        assert_eq!(check_url(&query("frame_max=0&channel_max=0"), 2), Ok(()));
        assert_eq!(check_url(&query("heartbeat=10"), 2), Ok(()));
        // What a broker configured with small limits agrees to.
        assert_eq!(check_negotiated(131_072, 2_047, 2), Ok(()));
        assert_eq!(
            check_negotiated(8_192, 2_047, 2),
            Err(ConfigError::TooSmall {
                field: "frame_max agreed with the broker",
                value: 8_192,
                min: u64::from(MIN_FRAME_MAX)
            })
        );
        assert_eq!(
            check_negotiated(131_072, 1, 2),
            Err(ConfigError::TooSmall {
                field: "channel_max agreed with the broker",
                value: 1,
                min: 2
            })
        );
    }
}
