//! Opening a new database file: several processes at once, an application's
//! own sqlx migrations on the same file (before or after), and a file whose
//! es-sqlite migrations were recorded in sqlx's default table by an older
//! es-sqlite.
//!
//! The multi-process test re-runs this executable's `open_instance` test as
//! child processes; it does nothing unless started so.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use es_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId};
use es_sqlite::{
    sqlx::{
        self,
        migrate::Migrator,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
        SqlitePool,
    },
    SqliteStore,
};
use es_test_support::child_roster::test_path;

/// The file a child opens (set only for children).
const PATH_VAR: &str = "ES_SQLITE_FIRST_OPEN_PATH";
/// The child's name: the stream it appends to.
const NAME_VAR: &str = "ES_SQLITE_FIRST_OPEN_NAME";

/// Openers per round, and rounds.
const OPENERS: usize = 8;
const ROUNDS: usize = 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Opens the store at `path` and appends one event to stream `name`.
async fn open_and_append(path: &Path, name: &str) -> Result<(), String> {
    let store = SqliteStore::open(path)
        .await
        .map_err(|error| format!("open: {error}"))?;
    let stream = StreamId::new(name).map_err(|error| error.to_string())?;
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("Opened", serde_json::json!({ "by": name }))],
        )
        .await
        .map_err(|error| format!("append: {error}"))?;
    Ok(())
}

/// One opener, when started by `processes_open_one_new_file_at_once`: waits
/// for its stdin to close (the start signal all children get at once), then
/// opens the file and appends; fails (exits non-zero) on any error.
#[test]
fn open_instance() {
    let (Ok(path), Ok(name)) = (std::env::var(PATH_VAR), std::env::var(NAME_VAR)) else {
        return;
    };
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    if let Err(error) = runtime().block_on(open_and_append(Path::new(&path), &name)) {
        panic!("{name}: {error}");
    }
}

/// The embedded migrations' versions, as an older es-sqlite would record them.
fn embedded() -> Migrator {
    sqlx::migrate!("./migrations")
}

/// Asserts that `path` holds `streams` streams of one event each, and every
/// embedded migration recorded once in es-sqlite's table.
async fn assert_opened_by(path: &Path, streams: usize) {
    let store = SqliteStore::open(path).await.expect("reopen");
    let log = store
        .read_all(Position::START, streams + 1)
        .await
        .expect("read the log");
    assert_eq!(log.len(), streams, "one event per opener");
    assert_eq!(
        applied(store.pool(), "es_sqlite_migrations").await,
        embedded().iter().map(|m| m.version).collect::<Vec<_>>(),
        "each migration recorded once"
    );
}

/// The versions recorded in `table`, in order.
async fn applied(pool: &SqlitePool, table: &str) -> Vec<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} ORDER BY version"
    )))
    .fetch_all(pool)
    .await
    .expect("read the migrations table")
}

async fn has_table(pool: &SqlitePool, table: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)",
    )
    .bind(table)
    .fetch_one(pool)
    .await
    .expect("read sqlite_master")
}

#[test]
fn processes_open_one_new_file_at_once() {
    let test = test_path(module_path!(), "open_instance");
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.db");
        let path_text = path.to_str().expect("UTF-8 path");
        let mut children: Vec<(String, Child)> = (0..OPENERS)
            .map(|i| {
                let name = format!("opener-{round}-{i}");
                let child = Command::new(&exe)
                    .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
                    .env(PATH_VAR, path_text)
                    .env(NAME_VAR, &name)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start an opener");
                (name, child)
            })
            .collect();
        // Every child is waiting on its stdin: start them all at once.
        for (_, child) in &mut children {
            drop(child.stdin.take());
        }
        for (name, child) in children {
            let output = child.wait_with_output().expect("wait for an opener");
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let said = stderr
                    .lines()
                    .find(|line| line.contains(&name))
                    .unwrap_or("(no message)");
                failures.push(format!("round {round}: {said}"));
            }
        }
        if failures.is_empty() {
            runtime().block_on(assert_opened_by(&path, OPENERS));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} opens failed:\n{}",
        failures.len(),
        OPENERS * ROUNDS,
        failures.join("\n")
    );
}

#[test]
fn tasks_open_one_new_file_at_once() {
    es_core::testing::run(async {
        let mut failures = Vec::new();
        for round in 0..ROUNDS {
            let dir = tempfile::tempdir().expect("temp dir");
            let path: PathBuf = dir.path().join("events.db");
            let openers: Vec<_> = (0..OPENERS)
                .map(|i| {
                    let path = path.clone();
                    let name = format!("opener-{round}-{i}");
                    tokio::spawn(async move { open_and_append(&path, &name).await })
                })
                .collect();
            for opener in openers {
                if let Err(error) = opener.await.expect("an opener panicked") {
                    failures.push(format!("round {round}: {error}"));
                }
            }
            if failures.is_empty() {
                assert_opened_by(&path, OPENERS).await;
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} opens failed:\n{}",
            failures.len(),
            OPENERS * ROUNDS,
            failures.join("\n")
        );
    });
}

/// An application's own migrations in `dir`: one whose version es-sqlite's
/// first migration also has, one with a timestamp version as `sqlx migrate
/// add` writes them.
fn application_migrations(dir: &Path) -> PathBuf {
    let migrations = dir.join("app_migrations");
    std::fs::create_dir_all(&migrations).expect("create the migrations dir");
    std::fs::write(
        migrations.join("0001_rooms.sql"),
        "CREATE TABLE rooms (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    )
    .expect("write a migration");
    std::fs::write(
        migrations.join("20260101000000_guests.sql"),
        "CREATE TABLE guests (id INTEGER PRIMARY KEY, room INTEGER REFERENCES rooms (id));",
    )
    .expect("write a migration");
    migrations
}

/// A pool on `path` as an application opens it.
async fn application_pool(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal),
        )
        .await
        .expect("the application's pool")
}

/// Runs the application's migrations on `path` (sqlx's default table).
async fn migrate_application(path: &Path, source: &Path) {
    let pool = application_pool(path).await;
    let migrator = Migrator::new(source)
        .await
        .expect("the application's migrations");
    migrator
        .run(&pool)
        .await
        .expect("the application's migrations run on the event store's file");
    assert_eq!(
        applied(&pool, "_sqlx_migrations").await,
        vec![1, 20260101000000]
    );
    assert!(has_table(&pool, "guests").await);
    pool.close().await;
}

#[test]
fn application_migrations_share_the_file_in_either_order() {
    es_core::testing::run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = application_migrations(dir.path());

        // The application first, then the store, then both again.
        let path = dir.path().join("application-first.db");
        migrate_application(&path, &source).await;
        open_and_append(&path, "after-the-application")
            .await
            .expect("the store opens a file the application migrated");
        migrate_application(&path, &source).await;
        assert_opened_by(&path, 1).await;

        // The store first, then the application, then both again.
        let path = dir.path().join("store-first.db");
        open_and_append(&path, "before-the-application")
            .await
            .expect("open a new file");
        migrate_application(&path, &source).await;
        assert_opened_by(&path, 1).await;
        migrate_application(&path, &source).await;
    });
}

#[test]
fn a_file_migrated_by_an_older_es_sqlite_keeps_opening() {
    es_core::testing::run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.db");

        // What an older es-sqlite left: its first migration recorded in
        // sqlx's default table, and an event.
        let pool = application_pool(&path).await;
        let first: Vec<_> = embedded().iter().take(1).cloned().collect();
        Migrator::with_migrations(first)
            .run(&pool)
            .await
            .expect("migrate as an older es-sqlite did");
        let recorded_on: String =
            sqlx::query_scalar("SELECT installed_on FROM _sqlx_migrations WHERE version = 1")
                .fetch_one(&pool)
                .await
                .expect("the old record");
        SqliteStore::from_pool(pool.clone())
            .append(
                &StreamId::new("written-before").expect("stream id"),
                ExpectedVersion::NoStream,
                vec![NewEvent::raw("Written", serde_json::json!({}))],
            )
            .await
            .expect("append through the old schema");
        pool.close().await;

        let store = SqliteStore::open(&path)
            .await
            .expect("open a file migrated by an older es-sqlite");
        assert_eq!(
            applied(store.pool(), "es_sqlite_migrations").await,
            embedded().iter().map(|m| m.version).collect::<Vec<_>>(),
            "the old record moved, any newer migration applied"
        );
        let moved_on: String =
            sqlx::query_scalar("SELECT installed_on FROM es_sqlite_migrations WHERE version = 1")
                .fetch_one(store.pool())
                .await
                .expect("the moved record");
        assert_eq!(moved_on, recorded_on, "the record moved as it was");
        assert!(
            !has_table(store.pool(), "_sqlx_migrations").await,
            "nothing else was in sqlx's table: it is gone"
        );
        drop(store);

        // The application may now use sqlx's default table; the store keeps opening.
        let source = application_migrations(dir.path());
        migrate_application(&path, &source).await;
        open_and_append(&path, "written-after")
            .await
            .expect("reopen after the application migrated");
        assert_opened_by(&path, 2).await;
    });
}
