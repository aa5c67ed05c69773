//! What every test needs: running `es`, a fresh PostgreSQL schema, appends.

use std::{process::Output, time::Duration};

use es_core::{EventStore, ExpectedVersion, Metadata, NewEvent, Position, StreamId};
use es_postgres::{PostgresConfig, PostgresStore};
use serde_json::Value;
use uuid::Uuid;

/// The PostgreSQL database the tests use.
pub fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The RabbitMQ broker the tests use.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// `es` with `args`, its environment cleared of the variables it reads.
pub fn command(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_es"));
    command
        .args(args)
        .env_remove("ES_STORE_URL")
        .env_remove("ES_CHECKPOINTS_URL")
        .env_remove("EVENT_STORE_DATABASE_URL")
        .env_remove("PROJECTOR_DATABASE_URL")
        .env_remove("AMQP_URL")
        .kill_on_drop(true);
    command
}

/// Runs `es` with `args` to completion (at most a minute).
pub async fn es(args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command(args).output())
        .await
        .unwrap_or_else(|_| panic!("es {args:?} did not finish within a minute"))
        .expect("run es")
}

/// Runs `es` and returns its stdout, failing the test if it failed.
pub async fn es_ok(args: &[&str]) -> String {
    let output = es(args).await;
    assert!(
        output.status.success(),
        "es {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs `es --json ...` and parses its one document.
pub async fn es_json(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = es_ok(&all).await;
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("es {args:?}: not JSON ({e}): {stdout}"))
}

/// Asserts `output` is a failure with exit code `code` and exactly one
/// `error: ...` line on stderr (nothing on stdout); returns that line.
pub fn assert_one_error_line(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr:?}");
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    lines[0].to_owned()
}

/// A migrated event store in a schema of its own, dropped at the end.
pub struct PgSchema {
    pub name: String,
    pub store: PostgresStore,
}

impl PgSchema {
    pub async fn new() -> Self {
        let name = unique("es_cli");
        let config = PostgresConfig::new(pg_url())
            .with_schema(name.as_str())
            .expect("schema name")
            .with_pool_size(2);
        let store = PostgresStore::connect_with(config)
            .await
            .expect("PostgreSQL must be running for these tests");
        store.migrate().await.expect("migrate");
        Self { name, store }
    }

    /// `--store URL --schema NAME`.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--store".into(),
            pg_url(),
            "--schema".into(),
            self.name.clone(),
        ]
    }
}

impl Drop for PgSchema {
    /// Drops the schema, even when the test panicked.
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&pg_url())
                    .await
                    .expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .execute(&mut connection)
                    .await
                    .expect("drop schema");
                let _ = connection.close().await;
            });
        })
        .join();
    }
}

/// `base` followed by `more`, as the `&str`s `es` takes.
pub fn with<'a>(base: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    base.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

/// Appends one event per type to `stream`; returns the last position.
pub async fn append(store: &impl EventStore, stream: &str, types: &[&str]) -> Position {
    let stream = StreamId::new(stream).expect("stream id");
    let events = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut event =
                NewEvent::raw(*t, serde_json::json!({"n": i, "stream": stream.as_str()}));
            event.metadata = Metadata::default().with_correlation_id(Uuid::now_v7());
            event
        })
        .collect();
    store
        .append(&stream, ExpectedVersion::Any, events)
        .await
        .expect("append")
        .last_position
        .expect("a position")
}

/// The exchange and queues of one test, deleted at the end even when it panicked.
pub struct BrokerNames {
    pub exchange: String,
    pub queue: String,
    pub dead_letter_queue: String,
}

impl BrokerNames {
    pub fn new(test: &str) -> Self {
        let queue = unique(&format!("es-cli-{test}.queue"));
        Self {
            exchange: unique(&format!("es-cli-{test}.events")),
            dead_letter_queue: format!("{queue}.dlq"),
            queue,
        }
    }
}

impl Drop for BrokerNames {
    fn drop(&mut self) {
        use es_amqp::lapin::{
            options::{ExchangeDeleteOptions, QueueDeleteOptions},
            Connection, ConnectionProperties,
        };
        let queues = [self.queue.clone(), self.dead_letter_queue.clone()];
        let exchanges = [self.exchange.clone(), format!("{}.dlx", self.queue)];
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
                    .await
                    .expect("connect");
                let channel = connection.create_channel().await.expect("channel");
                for queue in queues {
                    let _ = channel
                        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                for exchange in exchanges {
                    let _ = channel
                        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
                let _ = connection.close(200, "cleanup".into()).await;
            });
        })
        .join();
    }
}
