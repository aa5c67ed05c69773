//! Every store refuses the same over-limit input with the same typed error,
//! writes nothing for it, and keeps at-limit input verbatim.
//!
//! The limits are in [`limits`](crate::backend::limits).

use serde_json::{json, Value};

use crate::backend::limits::{
    MAX_CATEGORY_BYTES, MAX_EVENT_TYPE_BYTES, MAX_JSON_DEPTH, MAX_METADATA_BYTES,
    MAX_PAYLOAD_BYTES, MAX_STREAM_ID_BYTES,
};
use crate::{
    EventStore, ExpectedVersion, InputField, InvalidInput, Metadata, NewEvent, Position,
    StoreError, StreamId,
};

use super::support::{read_back_everywhere, read_whole_log, stream, Rng};

/// `depth` nested arrays around a number.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

/// Metadata whose serialised form is exactly `bytes` long.
fn metadata_of(bytes: usize) -> Metadata {
    let empty = serde_json::to_vec(&Metadata::default().with_extra(&"").expect("extra"))
        .expect("serialise metadata")
        .len();
    Metadata::default()
        .with_extra(&"m".repeat(bytes - empty))
        .expect("extra")
}

/// A payload whose serialised form is exactly `bytes` long.
fn payload_of(bytes: usize) -> Value {
    json!("p".repeat(bytes - 2))
}

fn event(event_type: &str) -> NewEvent {
    NewEvent::raw(event_type, json!({ "ok": true }))
}

/// Over-limit event types, payloads and metadata, and NUL anywhere, are
/// refused at append with [`StoreError::InvalidInput`] naming the field and
/// the limit, never transient, and nothing of the batch is written. Stream
/// ids over the limits cannot even be built.
pub async fn over_limit_input_is_refused_and_nothing_written<S: EventStore>(store: S) {
    let too_long = |field, max| move |invalid: &InvalidInput| matches!(invalid, InvalidInput::TooLong { field: f, max: m, len } if *f == field && *m == max && *len > max);
    let too_deep = |field| move |invalid: &InvalidInput| matches!(invalid, InvalidInput::TooDeep { field: f, depth, max } if *f == field && *max == MAX_JSON_DEPTH && *depth > MAX_JSON_DEPTH);
    let nul = |field| move |invalid: &InvalidInput| *invalid == InvalidInput::Nul { field };

    type Check = Box<dyn Fn(&InvalidInput) -> bool>;
    let cases: Vec<(&str, NewEvent, Check)> = vec![
        (
            "event type over the limit",
            event(&"t".repeat(MAX_EVENT_TYPE_BYTES + 1)),
            Box::new(too_long(InputField::EventType, MAX_EVENT_TYPE_BYTES)),
        ),
        (
            "payload over the limit",
            NewEvent::raw("Big", payload_of(MAX_PAYLOAD_BYTES + 1)),
            Box::new(too_long(InputField::Payload, MAX_PAYLOAD_BYTES)),
        ),
        (
            "metadata over the limit",
            event("Noted").with_metadata(metadata_of(MAX_METADATA_BYTES + 1)),
            Box::new(too_long(InputField::Metadata, MAX_METADATA_BYTES)),
        ),
        (
            "payload nested too deep",
            NewEvent::raw("Deep", nested(MAX_JSON_DEPTH + 1)),
            Box::new(too_deep(InputField::Payload)),
        ),
        (
            "metadata nested too deep",
            event("Deep").with_metadata(
                Metadata::default()
                    .with_extra(&nested(MAX_JSON_DEPTH))
                    .expect("extra"),
            ),
            Box::new(too_deep(InputField::Metadata)),
        ),
        (
            "NUL in the event type",
            event("Nul\0Type"),
            Box::new(nul(InputField::EventType)),
        ),
        (
            "NUL in a payload string",
            NewEvent::raw("Nul", json!({ "text": "a\0b" })),
            Box::new(nul(InputField::Payload)),
        ),
        (
            "NUL in a payload key",
            NewEvent::raw("Nul", json!({ "a\0b": 1 })),
            Box::new(nul(InputField::Payload)),
        ),
        (
            "NUL in the metadata",
            event("Nul").with_metadata(
                Metadata::default()
                    .with_extra(&json!({ "who": "\0" }))
                    .expect("extra"),
            ),
            Box::new(nul(InputField::Metadata)),
        ),
    ];
    for (case, bad, expected) in cases {
        let s = stream("refused");
        // The bad event sits in the middle of a batch of good ones.
        let batch = vec![event("Fine"), bad, event("Fine")];
        match store.append(&s, ExpectedVersion::Any, batch).await {
            Err(error @ StoreError::InvalidInput(_)) => {
                assert!(
                    !error.is_transient(),
                    "{case}: refused input is not transient"
                );
                let StoreError::InvalidInput(invalid) = &error else {
                    unreachable!()
                };
                assert!(expected(invalid), "{case}: wrong refusal {invalid:?}");
                let message = error.to_string();
                assert!(
                    invalid
                        .field()
                        .is_some_and(|f| message.contains(&f.to_string())),
                    "{case}: the message must name the field: {message}"
                );
            }
            other => panic!("{case}: expected InvalidInput, got {other:?}"),
        }
        assert_eq!(
            store.stream_version(&s).await.expect("version"),
            0,
            "{case}: something was written"
        );
    }
    assert!(
        store
            .read_all(Position::START, 10)
            .await
            .expect("read_all")
            .is_empty(),
        "refused batches wrote to the log"
    );

    // Stream ids: over the limits they cannot be built, so never reach a store.
    let over = format!("s-{}", "x".repeat(MAX_STREAM_ID_BYTES - 1));
    assert!(matches!(
        StreamId::new(over),
        Err(InvalidInput::TooLong {
            field: InputField::StreamId,
            max: MAX_STREAM_ID_BYTES,
            ..
        })
    ));
    assert!(matches!(
        StreamId::new(format!("{}-1", "c".repeat(MAX_CATEGORY_BYTES + 1))),
        Err(InvalidInput::TooLong {
            field: InputField::Category,
            max: MAX_CATEGORY_BYTES,
            ..
        })
    ));
    assert_eq!(
        StreamId::new("a\0-b"),
        Err(InvalidInput::Nul {
            field: InputField::StreamId
        })
    );
}

/// Input exactly at every limit is accepted and reads back verbatim through
/// `read_stream`, `read_all` and `replay_stream`: a stream id of exactly
/// the maximum bytes of random multi-byte UTF-8 (random so that a database
/// cannot compress it), an event type of exactly the maximum bytes, nesting
/// exactly at the maximum depth, and payload and metadata of exactly their
/// maximum serialised size.
pub async fn at_limit_input_is_accepted_and_read_back_verbatim<S: EventStore>(store: S) {
    let mut rng = Rng(0xa7_1e_11_17_5e_ed_00_01);
    let category = "limits";
    let tail = rng.multi_byte_text(MAX_STREAM_ID_BYTES - category.len() - 1);
    let s = StreamId::new(format!("{category}-{tail}")).expect("an id exactly at the limit");
    assert_eq!(s.as_str().len(), MAX_STREAM_ID_BYTES);
    let long_category = StreamId::new(format!("{}-1", "c".repeat(MAX_CATEGORY_BYTES)))
        .expect("a category exactly at the limit");

    let batch = vec![
        event(&rng.multi_byte_text(MAX_EVENT_TYPE_BYTES)),
        NewEvent::raw("Deep", nested(MAX_JSON_DEPTH)).with_metadata(
            Metadata::default()
                .with_extra(&nested(MAX_JSON_DEPTH - 1))
                .expect("extra"),
        ),
        NewEvent::raw("Big", payload_of(MAX_PAYLOAD_BYTES)),
        event("Noted").with_metadata(metadata_of(MAX_METADATA_BYTES)),
    ];
    assert_eq!(
        serde_json::to_vec(&batch[2].payload)
            .expect("payload")
            .len(),
        MAX_PAYLOAD_BYTES
    );
    assert_eq!(
        serde_json::to_vec(&batch[3].metadata)
            .expect("metadata")
            .len(),
        MAX_METADATA_BYTES
    );
    store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("input at the limits must be accepted");
    store
        .append(
            &long_category,
            ExpectedVersion::NoStream,
            vec![event("Fine")],
        )
        .await
        .expect("a category at the limit must be accepted");

    let stored = read_back_everywhere(&store, &s).await;
    assert_eq!(stored.len(), batch.len());
    for (read, sent) in stored.iter().zip(&batch) {
        assert_eq!(read.stream_id, s);
        assert_eq!(read.event_id, sent.event_id);
        assert_eq!(read.event_type, sent.event_type);
        assert_eq!(read.payload, sent.payload);
        assert_eq!(read.metadata, sent.metadata);
    }
    let log = read_whole_log(&store, 10).await;
    assert_eq!(log.len(), batch.len() + 1);
    assert!(log.iter().any(|e| e.stream_id == long_category));
}
