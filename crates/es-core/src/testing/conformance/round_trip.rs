//! Values come back exactly as they were written.

use serde_json::json;
use uuid::Uuid;

use crate::{EventStore, ExpectedVersion, NewEvent, StreamId};

use super::support::*;

/// Stream ids, event types, payloads and metadata (trace context included)
/// round-trip verbatim, however hostile (quotes, SQL, unicode, an event type
/// of the longest allowed length).
pub async fn values_round_trip_verbatim<S: EventStore>(store: S) {
    let long = "é".repeat(crate::backend::limits::MAX_EVENT_TYPE_BYTES / 2);
    let nasty = [
        "it's \"quoted\"; DROP TABLE events; --".to_owned(),
        "ünïcödé-流-🦀".to_owned(),
        long,
        "back\\slash %_ $1 ?".to_owned(),
    ];
    for name in &nasty {
        let s =
            StreamId::new(format!("hostile-{name}-{}", Uuid::now_v7())).expect("valid stream id");
        let payload =
            json!({ "text": name, "nested": { "sql": "'; --", "n": 1.5, "list": [1, null] } });
        let metadata = crate::Metadata::default()
            .with_correlation_id(Uuid::now_v7())
            .with_causation_id(Uuid::now_v7())
            .with_trace_context(crate::TraceContext::new_root())
            .with_extra(&json!({ "who": name }))
            .expect("extra");
        let event = NewEvent::raw(name.clone(), payload.clone()).with_metadata(metadata.clone());
        let id = event.event_id;
        store
            .append(&s, ExpectedVersion::NoStream, vec![event])
            .await
            .expect("append hostile values");
        let stored = read_stream(&store, &s).await;
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(e.stream_id, s);
        assert_eq!(&e.event_type, name);
        assert_eq!(e.payload, payload);
        assert_eq!(e.metadata, metadata);
        assert_eq!(e.event_id, id);
    }
}

/// Floats that parsers and databases commonly get wrong by one bit.
const HARD_FLOATS: [f64; 9] = [
    117.63331139400017,
    0.30000000000000004,
    5e-324,
    2.225_073_858_507_201e-308, // the value of the notorious 2.2250738585072011e-308
    f64::MAX,
    f64::MIN_POSITIVE,
    1e16,
    1e21,
    123456789012345680000.0,
];

/// Numbers come back exactly: every finite `f64` (a corpus of hard cases and
/// thousands of random bit patterns from a fixed seed) and integers at the
/// edges of `u64`/`i64` and of exact `f64` integers, in payloads and in
/// metadata, read back as equal [`serde_json::Value`]s through `read_stream`,
/// `read_all` and `replay_stream`.
///
/// Negative zero is the one exception, by decision: a JSON number has no
/// signed zero in every store (PostgreSQL numbers do not), so `-0.0` comes
/// back as a number equal to zero, with or without its sign.
pub async fn numbers_round_trip_exactly<S: EventStore>(store: S) {
    let mut rng = Rng(0x5eed_f10a_7c0d_e5a1);
    let mut floats: Vec<f64> = HARD_FLOATS.iter().flat_map(|f| [*f, -*f]).collect();
    floats.extend((0..3000).map(|_| rng.finite_f64()));
    let integers = json!([
        u64::MAX,
        i64::MIN,
        i64::MAX,
        (1u64 << 53) + 1,
        -(1i64 << 53) - 1
    ]);

    let s = stream("numbers");
    let mut batch: Vec<NewEvent> = floats
        .chunks(100)
        .map(|chunk| {
            let metadata = crate::Metadata::default()
                .with_extra(&json!({ "floats": chunk, "integers": integers }))
                .expect("extra");
            NewEvent::raw("Measured", json!({ "floats": chunk, "integers": integers }))
                .with_metadata(metadata)
        })
        .collect();
    batch.push(NewEvent::raw("Measured", json!({ "zero": -0.0_f64 })));
    let sent: Vec<(serde_json::Value, crate::Metadata)> = batch
        .iter()
        .map(|e| (e.payload.clone(), e.metadata.clone()))
        .collect();
    store
        .append(&s, ExpectedVersion::NoStream, batch)
        .await
        .expect("append numbers");

    let stored = read_back_everywhere(&store, &s).await;
    assert_eq!(stored.len(), sent.len());
    let (zero, exact) = stored.split_last().expect("events");
    for (event, (payload, metadata)) in exact.iter().zip(&sent) {
        assert_same_numbers("payload", payload, &event.payload);
        let extra = metadata.extra.as_ref().expect("sent metadata has extra");
        let read = event.metadata.extra.as_ref().expect("metadata extra lost");
        assert_same_numbers("metadata", extra, read);
        assert_eq!(&event.metadata, metadata, "metadata changed");
    }
    assert_eq!(
        zero.payload["zero"].as_f64(),
        Some(0.0),
        "negative zero must come back as a zero number"
    );
}

/// Panics naming the first number that came back different (a whole
/// mismatching array would bury it).
fn assert_same_numbers(place: &str, sent: &serde_json::Value, read: &serde_json::Value) {
    for key in ["floats", "integers"] {
        let (sent, read) = (&sent[key], &read[key]);
        let (Some(sent), Some(read)) = (sent.as_array(), read.as_array()) else {
            panic!("{place}: {key} is not an array any more: {read}");
        };
        assert_eq!(sent.len(), read.len(), "{place}: {key} changed length");
        for (sent, read) in sent.iter().zip(read) {
            assert_eq!(
                sent, read,
                "{place}: the number {sent} came back as {read} (an equal serde_json::Value is required: same kind, same value)"
            );
        }
    }
}
