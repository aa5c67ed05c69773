//! Bad input ends as one `error:` line, a non-zero exit code and no
//! password anywhere.

use crate::support::{amqp_url, append, assert_one_error_line, es, pg_url, unique, with, PgSchema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_command_lines_exit_2_with_one_line() {
    for args in [
        &["streams"][..],
        &["--store", "mysql://app:hunter2@db/x", "streams"],
        &[
            "--store",
            "postgres://app:hunter2@db/x",
            "tail",
            "--from",
            "abc",
        ],
        &[
            "--store",
            "postgres://app:hunter2@db/x",
            "streams",
            "--limit",
            "0",
        ],
        &["no-such-command"],
        &["dead-letters", "list"],
    ] {
        let output = es(args).await;
        let line = assert_one_error_line(&output, 2);
        assert!(!line.contains("hunter2"), "{line}");
    }
    let bad_position = es(&["--store", "postgres://db/x", "tail", "--from", "1/x"]).await;
    let line = assert_one_error_line(&bad_position, 2);
    assert!(line.contains("COMMIT/SEQUENCE"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_exit_1_with_one_line_and_no_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing_file = format!("sqlite:{}", dir.path().join("none.db").display());
    let unreachable_pg = "postgres://postgres:hunter2@127.0.0.1:1/test".to_owned();
    let unreachable_amqp = "amqp://guest:hunter2@127.0.0.1:1/%2f".to_owned();
    let missing_database = match pg_url().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{}", unique("absent_db")),
        None => panic!("DATABASE_URL names no database"),
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--store".into(), unreachable_pg, "streams".into()],
            "cannot connect",
        ),
        (
            vec!["--store".into(), missing_file, "streams".into()],
            "no such file",
        ),
        (
            vec!["--store".into(), missing_database, "streams".into()],
            "does not exist",
        ),
        (
            vec![
                "--store".into(),
                pg_url(),
                "--schema".into(),
                unique("absent"),
                "streams".into(),
            ],
            "no event store",
        ),
        (
            vec![
                "--amqp-url".into(),
                unreachable_amqp,
                "dead-letters".into(),
                "list".into(),
                "--queue".into(),
                "q".into(),
            ],
            "RabbitMQ",
        ),
        (
            vec![
                "--amqp-url".into(),
                amqp_url(),
                "dead-letters".into(),
                "list".into(),
                "--queue".into(),
                unique("absent"),
            ],
            "does not exist",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = es(&args).await;
        let line = assert_one_error_line(&output, 1);
        assert!(line.contains(expected), "{args:?}: {line}");
        assert!(!line.contains("hunter2"), "{line}");
        // Not PostgreSQL's own source line (` at line 948`).
        assert!(!line.contains(" at line "), "{line}");
    }

    let pg = PgSchema::new().await;
    let unknown = es(&with(&pg.args(), &["events", "order-404"])).await;
    let line = assert_one_error_line(&unknown, 1);
    assert!(
        line.contains("order-404") && line.contains("not found"),
        "{line}"
    );

    // An id without its category: the streams it may have meant.
    let id = uuid::Uuid::new_v4().to_string();
    append(&pg.store, &format!("booking-{id}"), &["BookingCreated"]).await;
    let bare = es(&with(&pg.args(), &["events", &id])).await;
    let line = assert_one_error_line(&bare, 1);
    assert!(
        line.contains(&format!("did you mean booking-{id}?")),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_column_shows_the_trace_context() {
    let pg = PgSchema::new().await;
    let trace =
        es_core::TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
    let stream = es_core::StreamId::new("order-1").expect("stream");
    let event = es_core::NewEvent::raw("Placed", serde_json::json!({}))
        .with_metadata(es_core::Metadata::default().with_trace_context(trace));
    es_core::EventStore::append(
        &pg.store,
        &stream,
        es_core::ExpectedVersion::Any,
        vec![event],
    )
    .await
    .expect("append");
    let human = crate::support::es_ok(&with(&pg.args(), &["events", "order-1"])).await;
    assert!(
        human.contains("traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        "{human}"
    );
}
