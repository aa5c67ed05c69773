//! Bad input ends as one `error:` line, a non-zero exit code and no
//! password anywhere.

use crate::support::{amqp_url, assert_one_error_line, es, pg_url, unique, with, PgSchema};

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
    }

    let pg = PgSchema::new().await;
    let unknown = es(&with(&pg.args(), &["events", "order-404"])).await;
    let line = assert_one_error_line(&unknown, 1);
    assert!(
        line.contains("order-404") && line.contains("not found"),
        "{line}"
    );
}
