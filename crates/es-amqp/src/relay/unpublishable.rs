//! Events the broker can never take, found before they are published.
//!
//! A routing key over 255 bytes, properties and headers that do not fit the
//! connection's negotiated `frame_max`, or a body above the broker's
//! `max_message_size` make the broker close the channel or the connection.
//! Retrying such a publish would fail the same way forever (and republish
//! everything behind the last confirm each time), so the relay checks every
//! message first. One that cannot fit is either a non-transient
//! [`RelayError::Unpublishable`](crate::RelayError::Unpublishable) naming the
//! event ([`UnpublishablePolicy::Stop`], the default) or is parked: published
//! in a form that fits to a separate exchange ([`UnpublishablePolicy::Park`]).

use lapin::{
    types::{AMQPValue, FieldTable, LongString},
    BasicProperties,
};

use es_core::RecordedEvent;

use crate::{wire, WireError, SHORT_STRING_MAX};

/// What the relay does with an event it can never publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnpublishablePolicy {
    /// Stop with [`RelayError::Unpublishable`](crate::RelayError::Unpublishable);
    /// the checkpoint stays right before the event, so nothing behind it is
    /// published until a human fixes the event or changes the policy.
    #[default]
    Stop,
    /// Publish the event to `exchange` instead, as one JSON body
    /// `{"reason": …, "event": <the whole envelope>}` with routing key
    /// [`PARKED_ROUTING_KEY`], the event id as `message_id` and the reason in
    /// the [`HEADER_UNPUBLISHABLE`] header, then go on with the events
    /// behind it. The relay declares `exchange` as a durable fanout exchange
    /// when it declares its own exchange; bind a queue to it, or the parked
    /// message is unroutable and the relay stops. If even the parked form
    /// does not fit, the relay stops as with [`Stop`](Self::Stop).
    Park {
        /// The exchange parked events go to.
        exchange: String,
    },
}

/// Routing key of parked events.
pub const PARKED_ROUTING_KEY: &str = "es.unpublishable";

/// Header on parked events: why the event could not be published as itself.
pub const HEADER_UNPUBLISHABLE: &str = "x-es-unpublishable";

/// The longest reason text put in [`HEADER_UNPUBLISHABLE`] (the full reason is in the body).
const REASON_HEADER_MAX: usize = 1_024;

/// Why an event can never be published as a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unpublishable {
    /// The routing key is longer than an AMQP short string.
    #[error("routing key is {len} bytes; AMQP allows at most {limit}")]
    RoutingKeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// [`SHORT_STRING_MAX`].
        limit: usize,
    },
    /// Properties and headers do not fit one frame of this connection.
    #[error(
        "properties and headers need a {len}-byte frame; the connection's frame_max is {frame_max}"
    )]
    HeadersTooLarge {
        /// The content header frame's size in bytes.
        len: usize,
        /// The negotiated largest frame.
        frame_max: usize,
    },
    /// The body is above the relay's `max_message_size`.
    #[error("body is {len} bytes; max_message_size is {limit}")]
    BodyTooLarge {
        /// The body's size in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The event cannot be encoded (for example a version above `i64::MAX`).
    #[error(transparent)]
    Encode(#[from] WireError),
}

/// What a connection lets through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The negotiated largest frame.
    pub frame_max: usize,
    /// The configured largest body.
    pub max_message_size: usize,
}

/// A message ready to publish.
pub(crate) struct Message {
    pub routing_key: String,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// Checks `message` fits `limits`.
pub(crate) fn check(message: &Message, limits: Limits) -> Result<(), Unpublishable> {
    if message.routing_key.len() > SHORT_STRING_MAX {
        return Err(Unpublishable::RoutingKeyTooLong {
            len: message.routing_key.len(),
            limit: SHORT_STRING_MAX,
        });
    }
    let len = wire::header_frame_len(&message.properties)?;
    if len > limits.frame_max {
        return Err(Unpublishable::HeadersTooLarge {
            len,
            frame_max: limits.frame_max,
        });
    }
    if message.body.len() > limits.max_message_size {
        return Err(Unpublishable::BodyTooLarge {
            len: message.body.len(),
            limit: limits.max_message_size,
        });
    }
    Ok(())
}

/// The message for `event` with routing key `routing_key`, if it fits.
pub(crate) fn message(
    event: &RecordedEvent,
    routing_key: String,
    limits: Limits,
) -> Result<Message, Unpublishable> {
    let (body, properties) = wire::encode(event)?;
    let message = Message {
        routing_key,
        body,
        properties,
    };
    check(&message, limits)?;
    Ok(message)
}

/// The parked form of `event`, which could not be published because of `reason`.
pub(crate) fn parked(
    event: &RecordedEvent,
    reason: &Unpublishable,
    limits: Limits,
) -> Result<Message, Unpublishable> {
    let reason = reason.to_string();
    let body = serde_json::to_vec(&serde_json::json!({ "reason": reason, "event": event }))
        .map_err(WireError::Body)?;
    let mut headers = FieldTable::default();
    headers.insert(
        HEADER_UNPUBLISHABLE.into(),
        AMQPValue::LongString(LongString::from(wire::truncated(
            &reason,
            REASON_HEADER_MAX,
        ))),
    );
    let properties = BasicProperties::default()
        .with_message_id(event.event_id.to_string().into())
        .with_content_type(wire::CONTENT_TYPE_JSON.into())
        .with_delivery_mode(wire::DELIVERY_MODE_PERSISTENT)
        .with_headers(headers);
    let message = Message {
        routing_key: PARKED_ROUTING_KEY.to_owned(),
        body,
        properties,
    };
    check(&message, limits)?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use es_core::Metadata;

    const LIMITS: Limits = Limits {
        frame_max: 131_072,
        max_message_size: 1_000,
    };

    fn event(extra: serde_json::Value, payload: serde_json::Value) -> RecordedEvent {
        RecordedEvent {
            event_type: "BookingCreated".into(),
            payload,
            metadata: Metadata {
                extra: Some(extra),
                ..Metadata::default()
            },
            ..crate::test_events::event("booking-1", 1)
        }
    }

    #[test]
    fn an_ordinary_event_fits() {
        let e = event(serde_json::json!({"user": "ada"}), serde_json::json!(1));
        assert!(message(&e, "booking.BookingCreated".into(), LIMITS).is_ok());
    }

    #[test]
    fn a_routing_key_over_255_bytes_is_refused() {
        let e = event(serde_json::json!(null), serde_json::json!(1));
        assert!(message(&e, "k".repeat(255), LIMITS).is_ok());
        let error = message(&e, "k".repeat(256), LIMITS).err().expect("refused");
        assert!(matches!(
            error,
            Unpublishable::RoutingKeyTooLong {
                len: 256,
                limit: 255
            }
        ));
    }

    #[test]
    fn headers_larger_than_a_frame_are_refused_and_parking_fits() {
        let huge = serde_json::json!({ "blob": "x".repeat(200_000) });
        let e = event(huge, serde_json::json!(1));
        let error = message(&e, "k".into(), LIMITS).err().expect("refused");
        assert!(
            matches!(error, Unpublishable::HeadersTooLarge { frame_max: 131_072, len } if len > 200_000),
            "{error}"
        );
        let roomy = Limits {
            max_message_size: 1_000_000,
            ..LIMITS
        };
        let parked = parked(&e, &error, roomy).expect("the envelope fits a body");
        let body: serde_json::Value = serde_json::from_slice(&parked.body).expect("json");
        assert_eq!(body["event"]["event_id"], e.event_id.to_string());
        assert!(body["reason"]
            .as_str()
            .expect("reason")
            .contains("frame_max"));
    }

    #[test]
    fn a_body_over_max_message_size_is_refused() {
        let e = event(
            serde_json::json!(null),
            serde_json::json!("y".repeat(2_000)),
        );
        let error = message(&e, "k".into(), LIMITS).err().expect("refused");
        assert!(matches!(
            error,
            Unpublishable::BodyTooLarge { limit: 1_000, .. }
        ));
        assert!(matches!(
            parked(&e, &error, LIMITS),
            Err(Unpublishable::BodyTooLarge { .. })
        ));
    }
}
