//! Stored events that cannot be decoded (as from a database restored from
//! elsewhere, planted here with raw SQL; SQLite columns hold any type) come
//! back from `read_stream`, `replay_stream` and `read_all` as a
//! non-transient `StoreError::Decode` naming stream, version and type, never
//! as a retryable backend error.

use es_core::{
    EventStore, ExpectedVersion, NewEvent, Position, StoreError, StreamId, Subscription,
    UndecodablePolicy,
};
use es_sqlite::{sqlx, SqliteStore};
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

/// A store holding one planted event of `stream` at version 1, type
/// `Planted`, with the given payload and metadata values (any SQL type).
async fn plant<'q, P, M>(stream: &str, payload: P, metadata: M) -> SqliteStore
where
    P: 'q + Send + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    M: 'q + Send + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    let store = SqliteStore::in_memory().await.expect("store");
    sqlx::query(
        "INSERT INTO es_events (event_id, stream_id, version, event_type, schema_version, \
         payload, metadata, recorded_at) VALUES (?, ?, 1, 'Planted', 1, ?, ?, '2024-01-01T00:00:00Z')",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(stream.to_owned())
    .bind(payload)
    .bind(metadata)
    .execute(store.pool())
    .await
    .expect("plant a row");
    store
}

fn assert_decode_error(error: StoreError, stream: &str, what: &str) {
    assert!(!error.is_transient(), "{what}: {error}");
    match error {
        StoreError::Decode(decode) => {
            assert_eq!(decode.stream_id.as_str(), stream, "{what}");
            assert_eq!(
                (decode.version, decode.event_type.as_str()),
                (1, "Planted"),
                "{what}"
            );
        }
        other => panic!("{what}: expected a decode error, got {other:?}"),
    }
}

async fn assert_every_read_refuses(store: &SqliteStore, stream: &str) {
    let s = StreamId::new(stream).expect("stream id");
    let read = store.read_stream(&s, 1).try_collect::<Vec<_>>().await;
    assert_decode_error(read.expect_err("read_stream"), stream, "read_stream");
    let replayed = store.replay_stream(&s, 1).try_collect::<Vec<_>>().await;
    assert_decode_error(
        replayed.expect_err("replay_stream"),
        stream,
        "replay_stream",
    );
    let log = store
        .read_all(Position::START, 10)
        .await
        .expect_err("read_all");
    if let StoreError::Decode(decode) = &log {
        assert!(
            decode.position.is_some(),
            "read_all names the position to skip past"
        );
    }
    assert_decode_error(log, stream, "read_all");
}

#[tokio::test]
async fn a_payload_nested_deeper_than_serde_json_reads_is_a_decode_error() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let store = plant("deep-1", deep, "{}").await;
    assert_every_read_refuses(&store, "deep-1").await;
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_decode_error() {
    // A BLOB where the payload text belongs, and metadata that is a number.
    let store = plant("blob-1", vec![0_u8, 159, 146, 150], "{}").await;
    assert_every_read_refuses(&store, "blob-1").await;
    let store = plant("shape-1", "{}", "42").await;
    assert_every_read_refuses(&store, "shape-1").await;
}

#[tokio::test]
async fn a_stored_stream_id_no_longer_accepted_is_a_decode_error_naming_its_position() {
    let store = plant("", "{}", "{}").await;
    let error = store
        .read_all(Position::START, 10)
        .await
        .expect_err("read_all");
    assert!(!error.is_transient(), "{error}");
    match error {
        StoreError::Decode(decode) => {
            assert_eq!(decode.stream_id.as_str(), "unreadable-stream-at-1");
            assert_eq!(decode.event_type, "Planted");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// The subscription policies on SQLite's log: decode errors carry their
/// position, so a skipping subscriber moves past the bad event and a
/// stopping one stops right before it, after delivering what came first.
#[tokio::test]
async fn subscribers_skip_or_stop_at_an_undecodable_event() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let store = plant("bad-1", deep, "{}").await;
    let good = StreamId::new("good-1").expect("stream id");
    store
        .append(
            &good,
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("Second", json!({}))],
        )
        .await
        .expect("append");

    let mut skipping = Subscription::new(store.clone(), Position::START)
        .with_undecodable_policy(UndecodablePolicy::Skip);
    let event = skipping.next().await.expect("skipping subscriber");
    assert_eq!(event.event_type, "Second");

    let mut stopping = Subscription::new(store.clone(), Position::START);
    assert_decode_error(
        stopping.next().await.expect_err("stops at the bad event"),
        "bad-1",
        "subscription",
    );
    assert_decode_error(
        stopping.next().await.expect_err("and stays stopped"),
        "bad-1",
        "subscription",
    );
}
