//! Hostile input on PostgreSQL: schema names that would inject SQL are
//! refused with a clear error; hostile stream ids and event types come back
//! verbatim through the global log; passwords never show in errors or Debug
//! output. (The conformance suite covers the verbatim round trip of one
//! stream.)

use crate::common::TestStore;
use es_core::backend::limits::MAX_STREAM_ID_BYTES;
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{InvalidSchemaName, PostgresConfig, PostgresError, PostgresStore, SchemaName};
use futures::TryStreamExt;
use uuid::Uuid;

#[test]
fn a_hostile_schema_name_is_refused_with_a_clear_error() {
    let refused = PostgresConfig::new(crate::common::database_url()).with_schema("x; DROP TABLE y");
    match refused {
        Err(PostgresError::InvalidSchema(InvalidSchemaName::BadCharacter { name })) => {
            assert_eq!(name, "x; DROP TABLE y");
        }
        other => panic!("expected an invalid schema error, got {other:?}"),
    }
    let message = SchemaName::new("x; DROP TABLE y")
        .expect_err("refused")
        .to_string();
    assert!(message.contains("invalid schema name"), "{message}");
    for bad in ["\"es\"; --", "es\"", "ES", "", "x y", "a.b", "pg_temp"] {
        assert!(SchemaName::new(bad).is_err(), "{bad:?} must be refused");
    }
}

/// What the conformance suite's verbatim round trip does not cover: dollar
/// quoting and right-to-left marks, a stream id of exactly the longest
/// accepted length (multi-byte, with a unique suffix), and the global log
/// (`read_all` decodes the stream id column, `read_stream` does not).
#[tokio::test]
async fn hostile_values_round_trip_verbatim_through_the_global_log() {
    let store = TestStore::new().await;
    let suffix = format!("-{}", Uuid::now_v7());
    let head = "long-";
    let fill = MAX_STREAM_ID_BYTES - head.len() - suffix.len();
    let longest = format!(
        "{head}{}{}{suffix}",
        "é".repeat(fill / 2),
        "x".repeat(fill % 2)
    );
    let names = [
        "it's \"quoted\"; DROP TABLE es_events; --".to_owned(),
        "$1 $$ dollar $$ \\ backslash % _".to_owned(),
        "ünïcödé-流-🦀-\u{202e}rtl".to_owned(),
    ];
    let mut streams: Vec<StreamId> = names
        .iter()
        .map(|name| StreamId::new(format!("{name}{suffix}")).expect("stream id"))
        .collect();
    streams.push(StreamId::new(longest).expect("a stream id of the longest length"));
    assert_eq!(streams[3].as_str().len(), MAX_STREAM_ID_BYTES);
    let mut appended = Vec::new();
    for (s, name) in streams.iter().zip(names.iter().chain([&"é".repeat(62)])) {
        let event_type = format!("{name}Type");
        let event = NewEvent::raw(event_type.clone(), serde_json::json!({ "name": name }));
        let outcome = store
            .append(s, ExpectedVersion::NoStream, vec![event.clone()])
            .await
            .expect("append");
        assert_eq!(outcome.version, 1);
        let stored: Vec<_> = store.read_stream(s, 1).try_collect().await.expect("read");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].stream_id.as_str(), s.as_str());
        assert_eq!(stored[0].event_type, event_type);
        assert_eq!(stored[0].payload, event.payload);
        assert_eq!(store.stream_version(s).await.expect("version"), 1);
        appended.push((s.clone(), event_type));
    }
    let log = crate::common::read_log_until(&store, appended.len())
        .await
        .expect("read_all");
    let got: Vec<(StreamId, String)> = log
        .into_iter()
        .map(|e| (e.stream_id, e.event_type))
        .collect();
    assert_eq!(got, appended);
}

#[tokio::test]
async fn passwords_never_appear_in_errors_or_debug_output() {
    // Nothing listens on port 1: the connection fails.
    let url = "postgres://app:hunter2-secret@127.0.0.1:1/test?password=hunter2-secret";
    let config = PostgresConfig::new(url);
    assert!(!format!("{config:?}").contains("hunter2"));
    let error = PostgresStore::connect_with(config)
        .await
        .expect_err("nothing listens on port 1");
    let shown = format!("{error} / {error:?}");
    assert!(matches!(error, PostgresError::Connect { .. }), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}
