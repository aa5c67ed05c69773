//! A database restored from another cluster, simulated by writing into a
//! test's own schema the rows such a restore brings: events whose
//! transaction ids lie ahead of this cluster's counter, and a projection's
//! checkpoint at the last of them. `migrate`, a store opened on it, a
//! subscriber resuming from the stored checkpoint, `read_all` from the start
//! and appends all report it as a non-transient error naming the ids and the
//! repair, instead of hiding the stored events, waiting, or writing new
//! events before them. Once the cluster's counter passes the stored ids
//! (what `pg_resetwal -e` does in one step), everything works again.

use std::time::Duration;

use crate::common::{read_log_until, TestStore};
use es_core::{
    CheckpointStore, EventStore, ExpectedVersion, NewEvent, Position, StoreError, StreamId,
    Subscription,
};
use es_postgres::{sqlx, AheadOfCluster, PostgresError, RestoredDatabase};
use uuid::Uuid;

/// One epoch of transaction ids: a restore from a cluster that ran about
/// four billion transactions more than this one.
const EPOCH: i64 = 1 << 32;

/// The projection whose checkpoint the restore brings along.
const PROJECTION: &str = "restored-projection";

/// Writes what a dump from a cluster `ahead` transaction ids further on
/// brings into the store's schema: `n` events of `s`, one transaction each,
/// and the checkpoint of [`PROJECTION`] at the last. Returns the events'
/// positions.
async fn restore_from_ahead(store: &TestStore, s: &StreamId, n: i64, ahead: i64) -> Vec<Position> {
    let q = store.schema().quoted();
    let mut positions: Vec<Position> = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(
        format!(
            "INSERT INTO {q}.es_events \
                (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
             SELECT pg_current_xact_id()::text::bigint + $3 + v, gen_random_uuid(), $1, v, \
                    'Restored', 1, '{{}}', '{{}}' \
             FROM generate_series(1, $2::bigint) AS v \
             RETURNING txid, sequence"
        ),
    ))
    .bind(s.as_str())
    .bind(n)
    .bind(ahead)
    .fetch_all(store.store.pool())
    .await
    .expect("write the restored events")
    .into_iter()
    .map(|(txid, sequence)| Position::new(txid as u64, sequence as u64))
    .collect();
    positions.sort();
    let last = *positions.last().expect("restored events");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {q}.es_checkpoints (projection, commit_key, sequence) VALUES ($1, $2, $3)"
    )))
    .bind(PROJECTION)
    .bind(last.commit as i64)
    .bind(last.sequence as i64)
    .execute(store.store.pool())
    .await
    .expect("write the restored checkpoint");
    positions
}

/// The [`RestoredDatabase`] inside a `NeedsRepair` error, checked to be
/// non-transient and to name `transaction_id`.
fn restored(error: StoreError, transaction_id: u64, what: &str) -> RestoredDatabase {
    assert!(!error.is_transient(), "{what}: {error}");
    let StoreError::NeedsRepair(source) = &error else {
        panic!("{what}: expected NeedsRepair, got {error:?}");
    };
    let restored = source
        .downcast_ref::<RestoredDatabase>()
        .unwrap_or_else(|| panic!("{what}: not a RestoredDatabase: {error}"))
        .clone();
    assert_eq!(restored.transaction_id, transaction_id, "{what}: {error}");
    assert!(restored.cluster_next < transaction_id, "{what}: {error}");
    restored
}

/// Appends through `store` to the restored stream and to a new one are all
/// refused, and nothing is written.
async fn assert_appends_refused(store: &TestStore, s: &StreamId, highest: u64, rows: i64) {
    let new_stream = StreamId::new(format!("after-restore-{}", Uuid::now_v7())).expect("id");
    for (stream, expected, batch) in [
        (s, ExpectedVersion::Exact(3), 1),
        (s, ExpectedVersion::Any, 2),
        (s, ExpectedVersion::StreamExists, 1),
        (&new_stream, ExpectedVersion::NoStream, 1),
    ] {
        let events = (0..batch)
            .map(|_| NewEvent::raw("After", serde_json::Value::Null))
            .collect();
        let result = store.append(stream, expected, events).await;
        let what = format!("append to {stream} {expected}");
        restored(result.expect_err(&what), highest, &what);
    }
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.es_events",
        store.schema().quoted()
    )))
    .fetch_one(store.store.pool())
    .await
    .expect("count");
    assert_eq!(count, rows, "nothing was written after the restore");
}

/// A subscriber resuming from the stored checkpoint gets the error instead
/// of waiting for events that never come.
async fn assert_subscriber_refused(store: &TestStore, highest: u64) {
    let checkpoint = store
        .store
        .checkpoints()
        .load_checkpoint(PROJECTION)
        .await
        .expect("load the stored checkpoint");
    assert_eq!(checkpoint.commit, highest);
    let mut subscription =
        Subscription::new(store.clone(), checkpoint).with_poll_interval(Duration::from_millis(50));
    let next = tokio::time::timeout(Duration::from_secs(30), subscription.next())
        .await
        .expect("the subscriber waited instead of reporting the restore");
    let found = restored(
        next.expect_err("subscriber from the stored checkpoint"),
        highest,
        "subscriber",
    );
    assert!(
        matches!(
            found.found_in,
            AheadOfCluster::StoredEvent | AheadOfCluster::Checkpoint
        ),
        "{found:?}"
    );
}

#[tokio::test]
async fn migrate_refuses_a_database_restored_from_a_cluster_ahead() {
    let store = TestStore::new().await;
    let s = StreamId::new("restored-stream").expect("id");
    let positions = restore_from_ahead(&store, &s, 3, EPOCH).await;
    let highest = positions[2].commit;

    let fresh = store.second_handle().await;
    let error = fresh
        .store
        .migrate()
        .await
        .expect_err("migrate on a restored database");
    let PostgresError::RestoredDatabase(found) = &error else {
        panic!("expected RestoredDatabase, got {error:?}");
    };
    assert_eq!(found.found_in, AheadOfCluster::StoredEvent);
    assert_eq!(found.transaction_id, highest);
    assert!(found.cluster_next < highest);
    assert_eq!(found.repair_epoch(), (highest >> 32) + 1);
    assert_eq!(found.schema, store.schema().as_str());
    let message = error.to_string();
    for part in [
        highest.to_string(),
        found.cluster_next.to_string(),
        format!("pg_resetwal -e {}", found.repair_epoch()),
    ] {
        assert!(message.contains(&part), "{part:?} missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_on_a_restored_database_refuses_reads_and_appends() {
    let store = TestStore::new().await;
    let s = StreamId::new("restored-stream").expect("id");
    let positions = restore_from_ahead(&store, &s, 3, EPOCH).await;
    let highest = positions[2].commit;

    // A new process: a store opened on the restored schema, without migrate.
    let fresh = store.second_handle().await;
    let read = fresh.read_all(Position::START, 10).await;
    restored(
        read.expect_err("read_all from the start"),
        highest,
        "read_all",
    );
    assert_subscriber_refused(&fresh, highest).await;
    assert_appends_refused(&fresh, &s, highest, 3).await;
}

/// A store handle that was already in use when its database was replaced by
/// a restore finds it on its reads and on appends to the restored streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_store_finds_the_restore_in_its_reads_and_appends() {
    let store = TestStore::new().await;
    assert!(store
        .read_all(Position::START, 10)
        .await
        .expect("the handle is in use before the restore")
        .is_empty());
    let s = StreamId::new("restored-stream").expect("id");
    let positions = restore_from_ahead(&store, &s, 3, EPOCH).await;
    let highest = positions[2].commit;

    assert_subscriber_refused(&store, highest).await;
    let read = store.read_all(Position::START, 10).await;
    restored(
        read.expect_err("read_all from the start"),
        highest,
        "read_all",
    );
    let tail = store.read_all(positions[0], 10).await;
    restored(tail.expect_err("read_all after the first"), highest, "tail");
    for expected in [ExpectedVersion::Exact(3), ExpectedVersion::Any] {
        let result = store
            .append(
                &s,
                expected,
                vec![NewEvent::raw("After", serde_json::Value::Null)],
            )
            .await;
        let what = format!("append {expected}");
        restored(result.expect_err(&what), highest, &what);
    }
}

/// The repair's principle: once the cluster's transaction counter passes
/// every stored id (`pg_resetwal -e` moves it a whole epoch at once; here the
/// restore is only a little ahead and the test uses transaction ids up until
/// the counter passes), migrate, subscribers from the stored checkpoint,
/// `read_all` and appends work again, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_cluster_passes_the_restored_ids_the_store_works_again() {
    // Far enough ahead that the other tests on the server do not pass it
    // between the restore and the first check, near enough to pass it here.
    const AHEAD: i64 = 20_000;
    let store = TestStore::new().await;
    let s = StreamId::new("restored-stream").expect("id");
    let positions = restore_from_ahead(&store, &s, 3, AHEAD).await;
    let highest = positions[2].commit;
    let error = store
        .second_handle()
        .await
        .store
        .migrate()
        .await
        .expect_err("migrate before the counter passed the restored ids");
    assert!(
        matches!(&error, PostgresError::RestoredDatabase(found) if found.transaction_id == highest),
        "{error:?}"
    );

    use_transaction_ids_until_past(&store, highest).await;

    let fresh = store.second_handle().await;
    fresh
        .store
        .migrate()
        .await
        .expect("migrate after the repair");
    let checkpoint = fresh
        .store
        .checkpoints()
        .load_checkpoint(PROJECTION)
        .await
        .expect("checkpoint");
    let mut subscription =
        Subscription::new(fresh.clone(), checkpoint).with_poll_interval(Duration::from_millis(50));
    let outcome = fresh
        .append(
            &s,
            ExpectedVersion::Exact(3),
            vec![NewEvent::raw("After", serde_json::Value::Null)],
        )
        .await
        .expect("append after the repair");
    assert_eq!(outcome.version, 4);
    assert!(outcome.first_position.expect("position") > positions[2]);
    let next = tokio::time::timeout(Duration::from_secs(30), subscription.next())
        .await
        .expect("the subscriber from the stored checkpoint received nothing")
        .expect("next");
    assert_eq!((next.stream_id.clone(), next.version), (s.clone(), 4));
    let log = read_log_until(&fresh, 4).await.expect("read_all");
    let versions: Vec<u64> = log.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(
        log.iter().map(|e| e.position).take(3).collect::<Vec<_>>(),
        positions
    );
}

/// Runs short transactions that each take a transaction id until the
/// cluster's next transaction id lies above `txid`.
async fn use_transaction_ids_until_past(store: &TestStore, txid: u64) {
    let mut conn = store.store.pool().acquire().await.expect("connection");
    // Only this session's commits, which write nothing, skip the WAL flush.
    sqlx::raw_sql("SET synchronous_commit = off")
        .execute(&mut *conn)
        .await
        .expect("set");
    loop {
        let next: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                .fetch_one(&mut *conn)
                .await
                .expect("next transaction id");
        if next as u64 > txid {
            break;
        }
        sqlx::raw_sql(
            "DO $$ BEGIN FOR i IN 1..1000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$",
        )
        .execute(&mut *conn)
        .await
        .expect("use transaction ids");
    }
    sqlx::raw_sql("RESET synchronous_commit")
        .execute(&mut *conn)
        .await
        .expect("reset");
}
