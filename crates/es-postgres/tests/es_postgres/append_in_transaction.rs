//! `append_in`: events committed atomically with the caller's own writes; a
//! refused append (conflict, duplicate id) rolls back only its savepoint and
//! leaves the caller's transaction usable; a rollback writes nothing.

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, StoreError, StreamId};
use es_postgres::sqlx::{self, Connection, PgConnection};
use uuid::Uuid;

fn event() -> NewEvent {
    NewEvent::raw("Happened", serde_json::Value::Null)
}

#[tokio::test]
async fn refusals_keep_the_callers_transaction_usable() {
    let store = TestStore::new().await;
    let table = format!("{}.orders", store.schema().quoted());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id int PRIMARY KEY)"
    )))
    .execute(store.store.pool())
    .await
    .expect("create table");
    let taken = event();
    let elsewhere = StreamId::new(format!("elsewhere-{}", Uuid::now_v7())).expect("id");
    store
        .append(&elsewhere, ExpectedVersion::NoStream, vec![taken.clone()])
        .await
        .expect("setup");

    let s = StreamId::new(format!("tx-{}", Uuid::now_v7())).expect("id");
    let mut conn = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("connect");
    let mut tx = conn.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (id) VALUES (1)"
    )))
    .execute(&mut *tx)
    .await
    .expect("own write");
    let conflict = store
        .store
        .append_in(&mut tx, &s, ExpectedVersion::Exact(5), vec![event()])
        .await;
    assert!(
        matches!(conflict, Err(StoreError::Conflict { actual: 0, .. })),
        "{conflict:?}"
    );
    let duplicate = store
        .store
        .append_in(
            &mut tx,
            &s,
            ExpectedVersion::Any,
            vec![event(), taken.clone()],
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateEventId { ref existing_stream, .. }) if *existing_stream == elsewhere),
        "{duplicate:?}"
    );
    let outcome = store
        .store
        .append_in(
            &mut tx,
            &s,
            ExpectedVersion::NoStream,
            vec![event(), event()],
        )
        .await
        .expect("append in the transaction");
    assert_eq!(outcome.version, 2);
    assert_eq!(
        store.stream_version(&s).await.expect("version"),
        0,
        "not visible before commit"
    );
    tx.commit().await.expect("commit");
    store.store.notify_appended();
    assert_eq!(store.stream_version(&s).await.expect("version"), 2);
    let rows: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(store.store.pool())
            .await
            .expect("count");
    assert_eq!(rows, 1, "the caller's own write committed with the events");

    // A rolled-back transaction writes neither.
    let mut tx = conn.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (id) VALUES (2)"
    )))
    .execute(&mut *tx)
    .await
    .expect("own write");
    store
        .store
        .append_in(&mut tx, &s, ExpectedVersion::Exact(2), vec![event()])
        .await
        .expect("append");
    tx.rollback().await.expect("rollback");
    assert_eq!(store.stream_version(&s).await.expect("version"), 2);
    conn.close().await.expect("close");
}
