//! Per-stream order in the global log when appending inside a caller's
//! transaction: a transaction that took its id before the stream's last
//! event was written (its first write, or any statement that assigns an id)
//! takes its commit key when it appends, so its events are ordered after
//! that event, whatever the expected version and batch size, also when it
//! waited for the stream's writer to commit; the log reads back in version
//! order. (Readers in other processes never skip such events:
//! `old_transaction_readers`.)

use std::time::{Duration, Instant};

use crate::common::{read_log_until, TestStore};
use es_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError, StreamId};
use es_postgres::sqlx::{self, Connection, PgConnection, Postgres, Transaction};
use futures::TryStreamExt;
use uuid::Uuid;

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", Uuid::now_v7())).expect("stream id")
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Happened", serde_json::json!({ "i": i })))
        .collect()
}

/// How the caller's transaction took its id before the stream's last append.
#[derive(Clone, Copy, Debug)]
enum EarlyId {
    /// A write of its own (a row in another table).
    OwnWrite,
    /// `pg_current_xact_id()`, as any statement that needs the id.
    AskedForIt,
}

/// Begins a transaction on `conn` that holds a transaction id now; returns it.
async fn begin_early<'c>(
    store: &TestStore,
    conn: &'c mut PgConnection,
    how: EarlyId,
) -> (Transaction<'c, Postgres>, u64) {
    let mut tx = conn.begin().await.expect("begin");
    if let EarlyId::OwnWrite = how {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {}.own_rows (id uuid PRIMARY KEY); \
             INSERT INTO {}.own_rows VALUES (gen_random_uuid())",
            store.schema().quoted(),
            store.schema().quoted()
        )))
        .execute(&mut *tx)
        .await
        .expect("own write");
    }
    let txid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *tx)
        .await
        .expect("transaction id");
    (tx, txid as u64)
}

/// Each stream of `log` in version order 1, 2, 3, … and the log in position order.
fn assert_streams_in_order(log: &[RecordedEvent]) {
    assert!(
        log.windows(2).all(|w| w[0].position < w[1].position),
        "the log is not in position order"
    );
    let mut last = std::collections::HashMap::new();
    for event in log {
        let previous = last
            .insert(event.stream_id.clone(), event.version)
            .unwrap_or(0);
        assert_eq!(
            event.version,
            previous + 1,
            "stream {} delivered out of order: {:?}",
            event.stream_id,
            log.iter()
                .filter(|e| e.stream_id == event.stream_id)
                .map(|e| e.version)
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_from_a_transaction_older_than_the_streams_last_write_is_ordered_after_it() {
    let store = TestStore::new().await;
    let mut conn = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("connect");
    let mut total = 0;
    for how in [EarlyId::OwnWrite, EarlyId::AskedForIt] {
        // The stream's events written before the caller's transaction began
        // (none: a younger transaction creates the stream).
        for before in [0, 1, 2] {
            for batch in [1, 3] {
                let s = stream("older");
                if before > 0 {
                    store
                        .append(&s, ExpectedVersion::NoStream, events(before))
                        .await
                        .expect("events before the transaction");
                }
                let (mut tx, txid) = begin_early(&store, &mut conn, how).await;
                let last = store
                    .append(&s, ExpectedVersion::Any, events(1))
                    .await
                    .expect("the stream's last append, by a younger transaction");
                let last_position = last.last_position.expect("position");
                assert!(last_position.commit > txid);
                let mut version = last.version;
                for expected in [
                    ExpectedVersion::Exact(version),
                    ExpectedVersion::Any,
                    ExpectedVersion::StreamExists,
                ] {
                    let case = format!("{how:?}, {before} before, {expected}, batch of {batch}");
                    let outcome = store
                        .store
                        .append_in(&mut tx, &s, expected, events(batch))
                        .await
                        .expect(&case);
                    assert_eq!(outcome.version, version + batch as u64, "{case}");
                    assert!(
                        outcome.first_position > Some(last_position),
                        "{case}: the old transaction's events come after the stream's last event"
                    );
                    version = outcome.version;
                }
                tx.commit().await.expect("commit");
                total += version as usize;
            }
        }
    }
    let log = read_log_until(&store, total).await.expect("read the log");
    assert_streams_in_order(&log);
    conn.close().await.expect("close");
}

/// An early transaction id appends to new streams, to streams last written
/// by older transactions, and several times to one stream.
#[tokio::test]
async fn an_early_transaction_appends_where_it_keeps_the_order() {
    let store = TestStore::new().await;
    let older = stream("written-before");
    store
        .append(&older, ExpectedVersion::NoStream, events(2))
        .await
        .expect("setup");
    let mut conn = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("connect");
    let (mut tx, _) = begin_early(&store, &mut conn, EarlyId::OwnWrite).await;
    // Younger writes to other streams do not matter.
    let elsewhere = stream("elsewhere");
    store
        .append(&elsewhere, ExpectedVersion::NoStream, events(1))
        .await
        .expect("a younger write elsewhere");
    let fresh = stream("fresh");
    for (s, expected, batch, version) in [
        (&older, ExpectedVersion::Exact(2), 2, 4),
        (&older, ExpectedVersion::Any, 1, 5),
        (&older, ExpectedVersion::StreamExists, 3, 8),
        (&fresh, ExpectedVersion::NoStream, 1, 1),
        (&fresh, ExpectedVersion::Exact(1), 3, 4),
        (&fresh, ExpectedVersion::Any, 1, 5),
    ] {
        let outcome = store
            .store
            .append_in(&mut tx, s, expected, events(batch))
            .await
            .expect("append from the early transaction");
        assert_eq!(outcome.version, version, "{s} {expected}");
    }
    tx.commit().await.expect("commit");
    let log = read_log_until(&store, 8 + 5 + 1).await.expect("read");
    assert_streams_in_order(&log);
    conn.close().await.expect("close");
}

/// The caller's append waits on the unique index for a younger transaction
/// that is writing the stream's next version; once that commits, the
/// caller's append is numbered and ordered after it (`Any`), or is a
/// conflict (`NoStream`), not retried until it gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_that_waited_for_a_younger_writer_is_ordered_after_it() {
    let store = TestStore::new().await;
    let url = crate::common::database_url();
    for expected in [ExpectedVersion::Any, ExpectedVersion::NoStream] {
        let s = stream("waited");
        let mut early = PgConnection::connect(&url).await.expect("connect");
        let early_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut early)
            .await
            .expect("pid");
        let (mut tx, txid) = begin_early(&store, &mut early, EarlyId::AskedForIt).await;

        let mut younger = PgConnection::connect(&url).await.expect("connect");
        let mut younger_tx = younger.begin().await.expect("begin");
        let written = store
            .store
            .append_in(&mut younger_tx, &s, ExpectedVersion::NoStream, events(2))
            .await
            .expect("the younger writer");
        let last_position = written.last_position.expect("position");
        assert!(last_position.commit > txid);

        let (result, ()) = tokio::join!(
            store.store.append_in(&mut tx, &s, expected, events(1)),
            async {
                wait_until_blocked(&store, early_pid).await;
                younger_tx
                    .commit()
                    .await
                    .expect("commit the younger writer");
            }
        );
        match expected {
            ExpectedVersion::NoStream => assert!(
                matches!(result, Err(StoreError::Conflict { actual: 2, .. })),
                "{result:?}"
            ),
            _ => {
                let outcome = result.expect("the waiting append, after the younger writer");
                assert_eq!(outcome.version, 3);
                assert!(outcome.first_position > Some(last_position));
            }
        }
        tx.commit().await.expect("commit");
        let read: Vec<RecordedEvent> = store
            .read_stream(&s, 1)
            .try_collect()
            .await
            .expect("read the stream");
        let expected_versions: Vec<u64> = match expected {
            ExpectedVersion::NoStream => vec![1, 2],
            _ => vec![1, 2, 3],
        };
        assert_eq!(
            read.iter().map(|e| e.version).collect::<Vec<_>>(),
            expected_versions
        );
        younger.close().await.expect("close");
    }
}

/// Waits (bounded) until the backend `pid` waits for a lock.
async fn wait_until_blocked(store: &TestStore, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)",
        )
        .bind(pid)
        .fetch_one(store.store.pool())
        .await
        .expect("pg_locks");
        if waiting {
            return;
        }
        assert!(Instant::now() < deadline, "the append never waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
