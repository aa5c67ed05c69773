//! Round trips and refusals of the wire format.

use super::*;
use chrono::TimeZone;

fn event() -> RecordedEvent {
    RecordedEvent {
        event_id: Uuid::now_v7(),
        stream_id: StreamId::new("booking-\"ünïcode\"-42").expect("valid"),
        version: 7,
        position: Position::new(123, 456),
        event_type: "BookingCreated".into(),
        schema_version: 2,
        payload: serde_json::json!({"slot": "A-1", "n": [1, 2]}),
        metadata: Metadata {
            correlation_id: Some(Uuid::now_v7()),
            causation_id: Some(Uuid::now_v7()),
            trace_context: Some(TraceContext::new_root()),
            extra: Some(serde_json::json!({"user": "ada"})),
        },
        recorded_at: Utc
            .timestamp_micros(1_700_000_000_123_456)
            .single()
            .expect("time"),
    }
}

#[test]
fn round_trips_the_whole_envelope() {
    let event = event();
    let (body, properties) = encode(&event).expect("encodes");
    assert_eq!(properties.delivery_mode(), &Some(DELIVERY_MODE_PERSISTENT));
    assert_eq!(
        properties.content_type().as_ref().map(|c| c.as_str()),
        Some(CONTENT_TYPE_JSON)
    );
    assert_eq!(
        properties
            .message_id()
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        Some(event.event_id.to_string())
    );
    assert_eq!(decode(&properties, &body).expect("decodes"), event);
    assert_eq!(
        correlation_id(&properties),
        event.metadata.correlation_id.map(|c| c.to_string())
    );
}

#[test]
fn refuses_what_it_cannot_read() {
    let event = event();
    let (body, properties) = encode(&event).expect("encodes");
    assert!(matches!(
        decode(&properties, b"{not json"),
        Err(WireError::Body(_))
    ));
    assert!(matches!(
        decode(&BasicProperties::default(), &body),
        Err(WireError::MessageId)
    ));
    let mut headers = properties.headers().clone().expect("headers");
    let mut inner = headers.inner().clone();
    inner.remove(HEADER_VERSION);
    headers = FieldTable::from(inner);
    let stripped = properties.clone().with_headers(headers);
    assert!(matches!(
        decode(&stripped, &body),
        Err(WireError::MissingHeader(HEADER_VERSION))
    ));
}

fn with_header(properties: &BasicProperties, name: &str, value: AMQPValue) -> BasicProperties {
    let mut inner = properties
        .headers()
        .clone()
        .unwrap_or_default()
        .inner()
        .clone();
    inner.insert(name.into(), value);
    properties.clone().with_headers(FieldTable::from(inner))
}

#[test]
fn carries_the_trace_context_in_the_traceparent_header() {
    let event = event();
    let (_, properties) = encode(&event).expect("encodes");
    let headers = properties.headers().clone().expect("headers");
    assert_eq!(
        header_str(&headers, HEADER_TRACEPARENT).expect("string"),
        event.metadata.trace_context.map(|c| c.to_string())
    );
    let mut untraced = event.clone();
    untraced.metadata.trace_context = None;
    let (body, properties) = encode(&untraced).expect("encodes");
    let headers = properties.headers().clone().expect("headers");
    assert!(!headers.inner().contains_key(HEADER_TRACEPARENT));
    assert_eq!(decode(&properties, &body).expect("decodes"), untraced);
}

#[test]
fn a_malformed_traceparent_is_ignored_not_refused() {
    let event = event();
    let (body, properties) = encode(&event).expect("encodes");
    for bad in [
        text("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        text("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        text("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        text("garbage"),
        AMQPValue::LongLongInt(42),
    ] {
        let hostile = with_header(&properties, HEADER_TRACEPARENT, bad.clone());
        let headers = hostile.headers().clone().expect("headers");
        assert!(trace_context(&headers).is_err(), "{bad:?}");
        let decoded = decode(&hostile, &body).expect("still decodes");
        assert_eq!(decoded.metadata.trace_context, None, "{bad:?}");
        assert_eq!(decoded.event_id, event.event_id);
    }
}
