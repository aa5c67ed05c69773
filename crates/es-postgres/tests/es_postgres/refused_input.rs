//! Input PostgreSQL cannot store is refused before it reaches the server,
//! with es-core's typed `InvalidInput` (never a retryable backend error):
//! NUL in a payload, metadata or event type, and over-long stream ids. A
//! stream id of the longest accepted length, random multi-byte text that the
//! server cannot compress, still fits its unique index.

use crate::common::TestStore;
use es_core::backend::limits::MAX_STREAM_ID_BYTES;
use es_core::{
    EventStore, ExpectedVersion, InputField, InvalidInput, Metadata, NewEvent, StoreError, StreamId,
};
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

/// Random text of exactly `bytes` bytes, mostly multi-byte characters.
fn random_text(bytes: usize, seed: u64) -> String {
    let mut state = seed;
    let mut text = String::with_capacity(bytes);
    while text.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let c = char::from_u32(0x100 + (state % 0xD000) as u32)
            .filter(|c| text.len() + c.len_utf8() <= bytes && *c != '-')
            .unwrap_or('a');
        text.push(c);
    }
    text
}

#[tokio::test]
async fn nul_anywhere_is_refused_as_typed_invalid_input() {
    let store = TestStore::new().await;
    let s = StreamId::new(format!("nul-{}", Uuid::now_v7())).expect("stream id");
    let nul_metadata = Metadata::default()
        .with_extra(&json!({ "who": "a\u{0000}b" }))
        .expect("metadata");
    let cases = [
        (
            NewEvent::raw("Named", json!({ "name": "a\u{0000}b" })),
            InputField::Payload,
        ),
        (
            NewEvent::raw("Named", json!({ "a\u{0000}b": 1 })),
            InputField::Payload,
        ),
        (
            NewEvent::raw("Named", json!({})).with_metadata(nul_metadata),
            InputField::Metadata,
        ),
        (
            NewEvent::raw("Na\u{0000}med", json!({})),
            InputField::EventType,
        ),
    ];
    for (event, field) in cases {
        let error = store
            .append(&s, ExpectedVersion::Any, vec![event])
            .await
            .expect_err("NUL must be refused");
        assert!(!error.is_transient(), "{error}");
        match error {
            StoreError::InvalidInput(InvalidInput::Nul { field: refused }) => {
                assert_eq!(refused, field)
            }
            other => panic!("expected InvalidInput::Nul for {field:?}, got {other:?}"),
        }
    }
    assert_eq!(
        store.stream_version(&s).await.expect("version"),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn stream_ids_over_the_limit_are_refused_and_the_longest_fits_the_index() {
    // The id that once failed on the unique index as a backend error.
    let too_long = format!("long-{}", random_text(2_966, 7));
    assert_eq!(too_long.len(), 2_971);
    match StreamId::new(too_long) {
        Err(InvalidInput::TooLong { field, len, max }) => {
            assert_eq!(
                (field, len, max),
                (InputField::StreamId, 2_971, MAX_STREAM_ID_BYTES)
            );
        }
        other => panic!("expected TooLong, got {other:?}"),
    }

    let store = TestStore::new().await;
    let longest = format!("long-{}", random_text(MAX_STREAM_ID_BYTES - 5, 11));
    assert_eq!(longest.len(), MAX_STREAM_ID_BYTES);
    let s = StreamId::new(longest).expect("the longest accepted id");
    let event = NewEvent::raw("Fits", json!({}));
    store
        .append(&s, ExpectedVersion::NoStream, vec![event.clone()])
        .await
        .expect("the index takes the longest id");
    let stored: Vec<_> = store.read_stream(&s, 1).try_collect().await.expect("read");
    assert_eq!(stored[0].event_id, event.event_id);
    let log = crate::common::read_log_until(&store, 1)
        .await
        .expect("read_all");
    assert_eq!(log[0].stream_id, s);
}
