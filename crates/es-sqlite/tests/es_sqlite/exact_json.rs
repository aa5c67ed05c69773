//! Numbers come back exactly: SQLite keeps the JSON text serde_json wrote
//! and the store parses it back with serde_json, through every read path and
//! for snapshots. Beyond the conformance suite's corpus this checks the
//! stored text itself and values whose text form matters (1e16 as a float,
//! -0.0, exponents, integers beyond 2^53).

use es_core::{
    EventStore, ExpectedVersion, Metadata, NewEvent, Position, Snapshot, SnapshotStore, StreamId,
};
use es_sqlite::{sqlx, SqliteStore};
use futures::TryStreamExt;
use serde_json::{json, Value};

/// Hard values, then random finite bit patterns from a fixed seed.
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
        9007199254740993.0,
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    numbers.extend([
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(9_007_199_254_740_993_u64),
    ]);
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
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

fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("to text")
}

#[tokio::test]
async fn numbers_and_snapshots_read_back_as_the_exact_text_written() {
    let store = SqliteStore::in_memory().await.expect("store");
    let s = StreamId::new("numbers-1").expect("stream id");
    let events: Vec<NewEvent> = hard_numbers()
        .chunks(50)
        .map(|chunk| {
            let metadata = Metadata::default()
                .with_extra(&json!({ "n": chunk[chunk.len() - 1] }))
                .expect("metadata");
            NewEvent::raw("Measured", json!({ "v": chunk })).with_metadata(metadata)
        })
        .collect();
    // The single-statement path (NoStream) and the transaction path (Any).
    let (first, rest) = events.split_at(4);
    store
        .append(&s, ExpectedVersion::NoStream, first.to_vec())
        .await
        .expect("append");
    store
        .append(&s, ExpectedVersion::Any, rest.to_vec())
        .await
        .expect("append");

    let stored: Vec<_> = store.read_stream(&s, 1).try_collect().await.expect("read");
    let replayed: Vec<_> = store
        .replay_stream(&s, 1)
        .try_collect()
        .await
        .expect("replay");
    let log = store
        .read_all(Position::START, 100)
        .await
        .expect("read_all");
    assert_eq!(stored.len(), events.len());
    assert_eq!((replayed.len(), log.len()), (events.len(), events.len()));
    for (i, event) in events.iter().enumerate() {
        let payload = text(&event.payload);
        assert_eq!(text(&stored[i].payload), payload, "read_stream, event {i}");
        assert_eq!(
            text(&replayed[i].payload),
            payload,
            "replay_stream, event {i}"
        );
        assert_eq!(text(&log[i].payload), payload, "read_all, event {i}");
        assert_eq!(stored[i].metadata, event.metadata, "metadata, event {i}");
    }
    let in_table: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM es_events ORDER BY position")
            .fetch_all(store.pool())
            .await
            .expect("stored text");
    let written: Vec<String> = events.iter().map(|e| text(&e.payload)).collect();
    assert_eq!(
        in_table, written,
        "the table holds the text serde_json wrote"
    );

    let state = json!({ "numbers": hard_numbers(), "z": -0.0, "big": 1e16 });
    store
        .save_snapshot(Snapshot {
            stream_id: s.clone(),
            version: 2,
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
    assert_eq!(text(&loaded.state), text(&state));
}
