//! Numbers come back exactly: the JSON text serde_json wrote is what the
//! store keeps and returns, through every read path and for snapshots. Beyond
//! the conformance suite's corpus this checks the stored text itself, and
//! values `jsonb` used to change (1e16 as a float, -0.0, exponents).

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, Metadata, NewEvent, Snapshot, SnapshotStore, StreamId};
use es_postgres::sqlx;
use futures::TryStreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

/// Hard values: floats whose shortest text is long or in exponent form, the
/// extremes, -0.0, and integers beyond 2^53 that must stay integers.
fn hard_numbers() -> Vec<Value> {
    let mut numbers: Vec<Value> = [
        117.63331139400017,
        0.30000000000000004,
        1e16,
        -1e16,
        1e21,
        1e-7,
        -0.0,
        5e-324,
        2.2250738585072014e-308,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740993.0,
        123456789012345680000.0,
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    numbers.extend([
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(9_007_199_254_740_993_u64),
        Value::from(0_u64),
    ]);
    // A few hundred random finite bit patterns from a fixed seed (xorshift).
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while numbers.len() < 400 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let float = f64::from_bits(state);
        if float.is_finite() {
            numbers.push(Value::from(float));
        }
    }
    numbers
}

#[tokio::test]
async fn numbers_read_back_as_the_exact_text_written() {
    let store = TestStore::new().await;
    let s = StreamId::new(format!("numbers-{}", Uuid::now_v7())).expect("stream id");
    let events: Vec<NewEvent> = hard_numbers()
        .chunks(50)
        .map(|chunk| {
            let payload = json!({ "v": chunk, "first": chunk[0] });
            let metadata = Metadata::default()
                .with_extra(&json!({ "n": chunk[chunk.len() - 1] }))
                .expect("metadata");
            NewEvent::raw("Measured", payload).with_metadata(metadata)
        })
        .collect();
    // One batch of several events and one single event: both statements.
    let single = NewEvent::raw("Measured", json!({ "v": 1e16, "z": -0.0 }));
    store
        .append(&s, ExpectedVersion::NoStream, events.clone())
        .await
        .expect("append the batch");
    store
        .append(&s, ExpectedVersion::Any, vec![single.clone()])
        .await
        .expect("append one");
    let sent: Vec<NewEvent> = events.into_iter().chain([single]).collect();
    let text = |value: &Value| serde_json::to_string(value).expect("to text");

    let stored: Vec<_> = store.read_stream(&s, 1).try_collect().await.expect("read");
    let replayed: Vec<_> = store
        .replay_stream(&s, 1)
        .try_collect()
        .await
        .expect("replay");
    let log = crate::common::read_log_until(&store, sent.len())
        .await
        .expect("read_all");
    assert_eq!(
        (stored.len(), replayed.len(), log.len()),
        (sent.len(), sent.len(), sent.len())
    );
    for (i, event) in sent.iter().enumerate() {
        let payload = text(&event.payload);
        assert_eq!(text(&stored[i].payload), payload, "read_stream, event {i}");
        assert_eq!(
            text(&replayed[i].payload),
            payload,
            "replay_stream, event {i}"
        );
        assert_eq!(text(&log[i].payload), payload, "read_all, event {i}");
        assert_eq!(stored[i].payload, event.payload);
        assert_eq!(stored[i].metadata, event.metadata, "metadata, event {i}");
        assert_eq!(
            log[i].metadata, event.metadata,
            "metadata in the log, event {i}"
        );
    }

    // The database holds the very text serde_json wrote (jsonb turned
    // the float 1e16 into the integer 10000000000000000 and -0.0 into 0).
    let in_table: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT payload::text FROM {}.es_events ORDER BY version",
        store.schema().quoted()
    )))
    .fetch_all(store.store.pool())
    .await
    .expect("stored text");
    let written: Vec<String> = sent.iter().map(|e| text(&e.payload)).collect();
    assert_eq!(in_table, written);
    let last = &in_table[in_table.len() - 1];
    assert!(
        !last.contains("10000000000000000") && last.contains("-0.0"),
        "floats keep their own text: {last}"
    );
}

#[tokio::test]
async fn snapshot_states_read_back_as_the_exact_text_written() {
    let store = TestStore::new().await;
    let s = StreamId::new(format!("snap-{}", Uuid::now_v7())).expect("stream id");
    let state = json!({ "numbers": hard_numbers(), "total": 117.63331139400017 });
    store
        .save_snapshot(Snapshot {
            stream_id: s.clone(),
            version: 3,
            revision: 1,
            state: state.clone(),
        })
        .await
        .expect("save");
    let loaded = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.state, state);
    assert_eq!(
        serde_json::to_string(&loaded.state).expect("text"),
        serde_json::to_string(&state).expect("text")
    );
}
