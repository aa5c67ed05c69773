//! How far a follower is behind (`lag_after`), the age of the oldest
//! transaction holding the log back (`horizon_age`) and the readiness ping.

use std::time::{Duration, Instant};

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId};
use es_postgres::sqlx::{self, Connection, PgConnection};
use es_telemetry::Lag;
use uuid::Uuid;

#[tokio::test]
async fn lag_counts_the_committed_events_after_a_checkpoint() {
    let test = TestStore::new().await;
    let store = &test.store;
    assert_eq!(store.lag_after(Position::START).await.unwrap(), Lag::NONE);

    let stream = StreamId::new(format!("lag-{}", Uuid::now_v7())).unwrap();
    let events = (0..3)
        .map(|i| NewEvent::raw("Happened", serde_json::json!({ "i": i })))
        .collect();
    store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    let log = store.read_all(Position::START, 10).await.unwrap();
    assert_eq!(log.len(), 3);

    let from_start = store.lag_after(Position::START).await.unwrap();
    assert_eq!(from_start.events, 3);
    assert!(from_start.seconds >= 0.0);
    assert!(!from_start.is_caught_up());
    assert_eq!(store.lag_after(log[1].position).await.unwrap().events, 1);
    let caught_up = store.lag_after(log[2].position).await.unwrap();
    assert!(caught_up.is_caught_up());
    assert_eq!(caught_up, Lag::NONE);
}

#[tokio::test]
async fn horizon_age_sees_an_open_writing_transaction() {
    let test = TestStore::new().await;
    let mut held = PgConnection::connect(&crate::common::database_url())
        .await
        .unwrap();
    let mut tx = held.begin().await.unwrap();
    // A transaction id alone holds nothing back: only writers of the log count.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(test.store.horizon_age().await.unwrap(), 0.0);
    let opened = Instant::now();
    test.store
        .append_in(
            &mut tx,
            &es_core::StreamId::new("held-open").unwrap(),
            es_core::ExpectedVersion::NoStream,
            vec![es_core::NewEvent::raw("Held", serde_json::json!({}))],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held_for = opened.elapsed().as_secs_f64();
    let age = test.store.horizon_age().await.unwrap();
    // Other transactions on the shared server may be older, never younger.
    assert!(
        age >= held_for - 0.05,
        "the open transaction is {held_for} s old, but the horizon age was {age}"
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn ping_answers_while_the_database_does() {
    let test = TestStore::new().await;
    test.store.ping().await.unwrap();
}
