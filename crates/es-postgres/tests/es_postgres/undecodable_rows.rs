//! Stored events that cannot be decoded (as from a database restored from
//! elsewhere, planted here with raw SQL) come back from `read_stream`,
//! `replay_stream` and `read_all` as a non-transient `StoreError::Decode`
//! naming stream, version and type, never as a retryable backend error that
//! would stall every subscriber.

use crate::common::TestStore;
use std::time::Duration;

use es_core::{
    EventStore, ExpectedVersion, NewEvent, Position, StoreError, StreamId, Subscription,
    UndecodablePolicy,
};
use es_postgres::sqlx;
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

/// Plants one event row with the given stream id, payload and metadata text.
async fn plant(store: &TestStore, stream: &str, payload: &str, metadata: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {}.es_events \
            (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
         VALUES (pg_current_xact_id()::text::bigint, $1, $2, 1, 'Planted', 1, $3::json, $4::json)",
        store.schema().quoted()
    )))
    .bind(Uuid::now_v7())
    .bind(stream)
    .bind(payload)
    .bind(metadata)
    .execute(store.store.pool())
    .await
    .expect("plant a row");
}

/// Asserts a decode error about version 1 of type `Planted` of `stream`.
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

/// Every read path refuses the planted row of `stream` with a decode error.
async fn assert_every_read_refuses(store: &TestStore, stream: &str) {
    let s = StreamId::new(stream).expect("stream id");
    let read = store.read_stream(&s, 1).try_collect::<Vec<_>>().await;
    assert_decode_error(read.expect_err("read_stream"), stream, "read_stream");
    let replayed = store.replay_stream(&s, 1).try_collect::<Vec<_>>().await;
    assert_decode_error(
        replayed.expect_err("replay_stream"),
        stream,
        "replay_stream",
    );
    let log = crate::common::read_log_until(store, 1)
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
    let store = TestStore::new().await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    plant(&store, "deep-1", &deep, "{}").await;
    assert_every_read_refuses(&store, "deep-1").await;
}

#[tokio::test]
async fn metadata_of_the_wrong_shape_is_a_decode_error() {
    let store = TestStore::new().await;
    plant(&store, "shape-1", "{}", r#"{"correlation_id": 42}"#).await;
    let s = StreamId::new("shape-1").expect("stream id");
    let read = store.read_stream(&s, 1).try_collect::<Vec<_>>().await;
    assert_decode_error(read.expect_err("read_stream"), "shape-1", "read_stream");
    let log = crate::common::read_log_until(&store, 1).await;
    assert_decode_error(log.expect_err("read_all"), "shape-1", "read_all");
}

#[tokio::test]
async fn a_stored_stream_id_no_longer_accepted_is_a_decode_error_naming_its_position() {
    let store = TestStore::new().await;
    plant(&store, "", "{}", "{}").await;
    let error = crate::common::read_log_until(&store, 1)
        .await
        .expect_err("read_all");
    assert!(!error.is_transient(), "{error}");
    match error {
        StoreError::Decode(decode) => {
            assert!(
                decode
                    .stream_id
                    .as_str()
                    .starts_with("unreadable-stream-at-"),
                "{decode}"
            );
            assert_eq!(decode.event_type, "Planted");
            assert!(decode.to_string().contains("stream id"), "{decode}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// The subscription policies on PostgreSQL's log: decode errors carry their
/// position, so a skipping subscriber moves past the bad event and a
/// stopping one stops right before it, after delivering what came first.
#[tokio::test]
async fn subscribers_skip_or_stop_at_an_undecodable_event() {
    let store = TestStore::new().await;
    let good = StreamId::new("good-1").expect("stream id");
    store
        .append(
            &good,
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("First", json!({}))],
        )
        .await
        .expect("append");
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    plant(&store, "bad-1", &deep, "{}").await;
    store
        .append(
            &good,
            ExpectedVersion::Exact(1),
            vec![NewEvent::raw("Third", json!({}))],
        )
        .await
        .expect("append");
    let within = Duration::from_secs(10);

    let mut skipping = Subscription::new(store.clone(), Position::START)
        .with_undecodable_policy(UndecodablePolicy::Skip);
    for expected in ["First", "Third"] {
        let event = tokio::time::timeout(within, skipping.next())
            .await
            .expect("in time")
            .expect("skipping subscriber");
        assert_eq!(event.event_type, expected);
    }

    let mut stopping = Subscription::new(store.clone(), Position::START);
    let first = tokio::time::timeout(within, stopping.next())
        .await
        .expect("in time")
        .expect("the event before the bad one");
    assert_eq!(first.event_type, "First");
    let stopped = tokio::time::timeout(within, stopping.next())
        .await
        .expect("in time");
    assert_decode_error(
        stopped.expect_err("stops at the bad event"),
        "bad-1",
        "subscription",
    );
}
