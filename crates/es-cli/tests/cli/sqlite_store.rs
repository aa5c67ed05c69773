//! The same reads on a SQLite store file.

use es_core::{CheckpointStore, Position};
use es_sqlite::SqliteStore;

use crate::support::{append, assert_one_error_line, es, es_json, es_ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_file_reads_like_a_postgres_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.db");
    let store = SqliteStore::open(&path).await.expect("open");
    append(&store, "cart-1", &["Created", "ItemAdded"]).await;
    append(&store, "cart-2", &["Created"]).await;
    let url = format!("sqlite:{}", path.display());
    let args = ["--store", url.as_str()];

    let streams = es_json(&[&args[..], &["streams", "--category", "cart"]].concat()).await;
    assert_eq!(streams["streams"][0]["stream_id"], "cart-1");
    assert_eq!(streams["streams"][0]["version"], 2);
    assert_eq!(streams["streams"][1]["stream_id"], "cart-2");

    let events = es_ok(&[&args[..], &["events", "cart-1"]].concat()).await;
    assert!(events.contains("ItemAdded"), "{events}");

    let tail = es_ok(&[&args[..], &["--json", "tail", "--count", "3"]].concat()).await;
    assert_eq!(tail.lines().count(), 3, "{tail}");
    assert!(
        tail.lines().last().unwrap().contains("\"cart-2\""),
        "{tail}"
    );

    let projections = es_json(&[&args[..], &["projections"]].concat()).await;
    assert_eq!(projections["projections"].as_array().unwrap().len(), 0);
    assert_eq!(projections["head"]["position"]["sequence"], 3);

    // A checkpoint after the first event: 2 behind; reset moves it back.
    let checkpoints = store.checkpoints();
    let tx = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(
            tx,
            "carts-view",
            Position::START,
            Position::from_sequence(1),
        )
        .await
        .expect("commit");
    let projections = es_json(&[&args[..], &["projections"]].concat()).await;
    assert_eq!(projections["projections"][0]["name"], "carts-view");
    assert_eq!(projections["projections"][0]["events_behind"], 2);
    let status = es_json(&[&args[..], &["relay", "status", "carts-view"]].concat()).await;
    assert_eq!(status["relays"][0]["events_behind"], 2);
    let reset = es_json(&[&args[..], &["projection", "reset", "carts-view"]].concat()).await;
    assert_eq!(reset["from"]["sequence"], 1);
    assert_eq!(reset["events_to_process"], 3);
    assert_eq!(
        checkpoints
            .load_checkpoint("carts-view")
            .await
            .expect("load"),
        Position::START
    );
    let unknown = es(&[&args[..], &["projection", "reset", "nope"]].concat()).await;
    let line = assert_one_error_line(&unknown, 1);
    assert!(line.contains("carts-view"), "{line}");

    let horizon = es(&[&args[..], &["horizon"]].concat()).await;
    let line = assert_one_error_line(&horizon, 1);
    assert!(line.contains("needs a PostgreSQL store"), "{line}");
}
