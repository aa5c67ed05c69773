//! `streams`, `events` and `tail` on a PostgreSQL store show what was appended.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{append, command, es_json, es_ok, with, PgSchema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_events_show_in_streams_events_and_tail() {
    let pg = PgSchema::new().await;
    append(&pg.store, "order-1", &["Placed", "Paid", "Shipped"]).await;
    append(&pg.store, "order-2", &["Placed"]).await;
    append(&pg.store, "invoice-1", &["Issued", "Settled"]).await;
    let args = pg.args();

    // streams: human and JSON, filters and keyset paging.
    let human = es_ok(&with(&args, &["streams"])).await;
    for id in ["order-1", "order-2", "invoice-1", "3 stream(s)"] {
        assert!(human.contains(id), "{id} missing from:\n{human}");
    }
    let orders = es_json(&with(&args, &["streams", "--category", "order"])).await;
    let listed: Vec<(String, u64)> = orders["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["stream_id"].as_str().unwrap().to_owned(),
                s["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("order-1".into(), 3), ("order-2".into(), 1)]);
    assert!(orders["streams"][0]["last_write"].is_string());
    let first = es_json(&with(&args, &["streams", "--limit", "1"])).await;
    assert_eq!(first["streams"][0]["stream_id"], "invoice-1");
    assert_eq!(first["next_after"], "invoice-1");
    let second = es_json(&with(
        &args,
        &["streams", "--limit", "2", "--after", "invoice-1"],
    ))
    .await;
    assert_eq!(second["streams"][0]["stream_id"], "order-1");
    assert_eq!(second["streams"][1]["stream_id"], "order-2");
    let prefixed = es_json(&with(&args, &["streams", "--prefix", "order-2"])).await;
    assert_eq!(prefixed["streams"].as_array().unwrap().len(), 1);
    assert_eq!(prefixed["next_after"], serde_json::Value::Null);

    // events: the history with metadata.
    let human = es_ok(&with(&args, &["events", "order-1"])).await;
    for text in ["Placed", "Paid", "Shipped", "correlation=", "at version 3"] {
        assert!(human.contains(text), "{text} missing from:\n{human}");
    }
    let history = es_json(&with(&args, &["events", "order-1"])).await;
    assert_eq!(history["version"], 3);
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["event_type"], "Paid");
    assert_eq!(events[1]["version"], 2);
    assert!(events[1]["metadata"]["correlation_id"].is_string());
    let page = es_json(&with(
        &args,
        &["events", "order-1", "--from", "2", "--limit", "1"],
    ))
    .await;
    let page = page["events"].as_array().expect("events");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["event_type"], "Paid");

    // tail --count: the log in order, filtered by category and type.
    let lines = es_ok(&with(&args, &["--json", "tail", "--count", "6"])).await;
    let tailed: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let order: Vec<_> = tailed
        .iter()
        .map(|e| format!("{}:{}", e["stream_id"].as_str().unwrap(), e["version"]))
        .collect();
    assert_eq!(
        order,
        [
            "order-1:1",
            "order-1:2",
            "order-1:3",
            "order-2:1",
            "invoice-1:1",
            "invoice-1:2"
        ]
    );
    let invoices = es_ok(&with(
        &args,
        &["--json", "tail", "--count", "2", "--category", "invoice"],
    ))
    .await;
    assert_eq!(invoices.lines().count(), 2);
    assert!(
        invoices.lines().all(|l| l.contains("\"invoice-1\"")),
        "{invoices}"
    );
    let placed = es_ok(&with(&args, &["tail", "--count", "2", "--type", "Placed"])).await;
    assert_eq!(placed.lines().count(), 2, "{placed}");
    assert!(
        placed.contains("order-1 v1") && placed.contains("order-2 v1"),
        "{placed}"
    );

    // tail follows live: started after the head, it prints the next append.
    let head = tailed[5]["position"].clone();
    let from = format!("{}/{}", head["commit"], head["sequence"]);
    let mut child = command(&with(
        &args,
        &["--json", "tail", "--from", &from, "--count", "1"],
    ))
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("spawn es tail");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    append(&pg.store, "order-3", &["Placed"]).await;
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("tail printed the live event")
        .expect("read")
        .expect("a line");
    let live: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(live["stream_id"], "order-3");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("tail stops after --count")
        .expect("wait");
    assert!(status.success());
}
