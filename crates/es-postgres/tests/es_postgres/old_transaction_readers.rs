//! An old transaction that appends late, with readers of the log in two
//! other processes: the readers move past younger events while the old
//! transaction is open (it has not written the log, so it holds nothing
//! back), and the old transaction's events, appended after that, are still
//! delivered to both, after the events they already passed, each stream in
//! version order: ordered correctly, never skipped. In `READ COMMITTED` the
//! append's own snapshot orders it; in `REPEATABLE READ` and `SERIALIZABLE`
//! (a snapshot older than the younger events) the commit ticket does.
//!
//! `log_reader_instance` is the reader run by the child processes; it does
//! nothing unless started so.

use std::time::Duration;

use crate::common::{database_url, read_log_until, TestStore};
use es_core::{
    EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, StreamId, Subscription,
};
use es_postgres::{
    sqlx::{self, Connection, PgConnection},
    PostgresConfig, PostgresStore, SchemaName,
};
use es_test_support::{
    child_roster::{report_role, test_path},
    Roster,
};
use uuid::Uuid;

/// The environment that makes `log_reader_instance` a reader.
const SCHEMA_VAR: &str = "ES_TEST_LOG_READER_SCHEMA";
const EXPECT_VAR: &str = "ES_TEST_LOG_READER_EXPECT";
const NAME_VAR: &str = "ES_TEST_LOG_READER_NAME";

/// The bound on every wait of this test, in the parent and in the readers.
const WAIT: Duration = Duration::from_secs(30);

/// How many events the scenario appends in all.
const TOTAL: usize = 7;

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", Uuid::now_v7())).expect("stream id")
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Happened", serde_json::json!({ "i": i })))
        .collect()
}

/// A reader in a child process: follows the log of the schema it is given
/// from the start, reports `SEEN-<n>` after each event and, after the
/// expected number, `DONE-<event ids in delivery order, comma-separated>`.
#[test]
fn log_reader_instance() {
    let (Ok(schema), Ok(expect), Ok(name)) = (
        std::env::var(SCHEMA_VAR),
        std::env::var(EXPECT_VAR),
        std::env::var(NAME_VAR),
    ) else {
        return;
    };
    let expect: usize = expect.parse().expect("expected count");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let config = PostgresConfig::new(database_url())
            .with_schema_name(SchemaName::new(schema).expect("schema"))
            .with_pool_size(2);
        let store = PostgresStore::connect_with(config).await.expect("connect");
        let mut subscription = Subscription::new(store, Position::START)
            .with_page_size(2)
            .with_poll_interval(Duration::from_millis(50));
        report_role("READY", &name);
        let mut ids = Vec::with_capacity(expect);
        while ids.len() < expect {
            match tokio::time::timeout(WAIT, subscription.next()).await {
                Ok(Ok(event)) => {
                    ids.push(event.event_id.to_string());
                    report_role(&format!("SEEN-{}", ids.len()), &name);
                }
                Ok(Err(error)) => {
                    report_role("FAILED", &name);
                    panic!("{name}: {error}");
                }
                Err(_) => {
                    report_role(&format!("STALLED-AT-{}", ids.len()), &name);
                    panic!("{name}: no event for {WAIT:?} after {}", ids.len());
                }
            }
        }
        report_role(&format!("DONE-{}", ids.join(",")), &name);
    });
}

/// How the old transaction isolates itself.
#[derive(Clone, Copy, Debug)]
enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    fn begin(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Isolation::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Isolation::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_transactions_late_append_reaches_readers_in_two_processes_in_order() {
    let mut roster = Roster::new(test_path(module_path!(), "log_reader_instance"));
    for isolation in [
        Isolation::ReadCommitted,
        Isolation::RepeatableRead,
        Isolation::Serializable,
    ] {
        old_transaction_appends_late(&mut roster, isolation).await;
    }
}

async fn old_transaction_appends_late(roster: &mut Roster, isolation: Isolation) {
    let store = TestStore::new().await;
    let readers: Vec<String> = ["a", "b"]
        .iter()
        .map(|r| format!("{r}-{isolation:?}"))
        .collect();
    let total = TOTAL.to_string();
    for reader in &readers {
        roster.spawn(
            reader,
            &[
                (SCHEMA_VAR, store.schema().as_str()),
                (EXPECT_VAR, &total),
                (NAME_VAR, reader),
            ],
        );
    }
    let written_before = stream("written-before");
    store
        .append(&written_before, ExpectedVersion::NoStream, events(1))
        .await
        .expect("a stream written before the old transaction");

    // The old transaction: an id (and, below READ COMMITTED, its snapshot)
    // from a write elsewhere, long before it appends.
    let mut conn = PgConnection::connect(&database_url())
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {}.own_rows (id uuid PRIMARY KEY)",
        store.schema().quoted()
    )))
    .execute(&mut conn)
    .await
    .expect("a table of its own");
    let mut tx = conn
        .begin_with(isolation.begin())
        .await
        .expect("begin the old transaction");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {}.own_rows VALUES (gen_random_uuid())",
        store.schema().quoted()
    )))
    .execute(&mut *tx)
    .await
    .expect("its own write");
    let old_id: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *tx)
        .await
        .expect("its transaction id");

    // Younger appends commit, and both readers move past them while the
    // old transaction is still open.
    let younger = stream("younger");
    let mut passed = Vec::new();
    for version in 0..2 {
        let outcome = store
            .append(&younger, ExpectedVersion::Exact(version), events(1))
            .await
            .expect("a younger append");
        let position = outcome.last_position.expect("position");
        assert!(position.commit > old_id as u64);
        passed.push(position);
    }
    for reader in &readers {
        roster.wait_for(Some(reader), "SEEN-3", WAIT);
    }

    // Only now the old transaction appends: to a new stream and after the
    // stream written before it began.
    let late = stream("late");
    let mut late_positions = Vec::new();
    for (s, expected, n) in [
        (&late, ExpectedVersion::NoStream, 2),
        (&written_before, ExpectedVersion::Exact(1), 1),
    ] {
        let outcome = store
            .store
            .append_in(&mut tx, s, expected, events(n))
            .await
            .unwrap_or_else(|error| panic!("{isolation:?}: the late append: {error}"));
        late_positions.push(outcome.first_position.expect("position"));
    }
    tx.commit().await.expect("commit the old transaction");
    store.store.notify_appended();
    store
        .append(&younger, ExpectedVersion::Exact(2), events(1))
        .await
        .expect("a younger append after it");

    let log: Vec<RecordedEvent> = read_log_until(&store, TOTAL).await.expect("read the log");
    assert_eq!(log.len(), TOTAL);
    for late in &late_positions {
        assert!(
            passed.iter().all(|p| p < late),
            "{isolation:?}: the late events are ordered after the events readers passed"
        );
    }
    let mut last = std::collections::HashMap::new();
    for e in &log {
        let previous = last.insert(e.stream_id.clone(), e.version).unwrap_or(0);
        assert_eq!(e.version, previous + 1, "{isolation:?}: {}", e.stream_id);
    }
    // Both readers received exactly the log, in its order.
    let ids: Vec<String> = log.iter().map(|e| e.event_id.to_string()).collect();
    let done = format!("DONE-{}", ids.join(","));
    for reader in &readers {
        roster.wait_for(Some(reader), &done, WAIT);
        assert_eq!(
            roster.wait_exit(reader, WAIT).code(),
            Some(0),
            "{reader} exits cleanly"
        );
    }
    conn.close().await.expect("close");
}
