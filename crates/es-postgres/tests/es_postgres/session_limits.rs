//! Every session the crate opens limits itself: a frozen transaction ends
//! within the idle limit and frees its locks, without any server setting.

use std::time::{Duration, Instant};

use futures::TryStreamExt;

use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{
    sqlx::{self, Connection},
    PostgresConfig, PostgresStore, SessionLimits,
};

use crate::common::{database_url, TestStore};

async fn show(pool: &sqlx::PgPool, setting: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
        .fetch_one(pool)
        .await
        .expect("SHOW")
}

#[tokio::test]
async fn every_pooled_session_carries_the_default_limits() {
    let test = TestStore::new().await;
    let checkpoints = test.store.checkpoints();
    for pool in [test.store.pool(), checkpoints.pool()] {
        assert_eq!(
            show(pool, "idle_in_transaction_session_timeout").await,
            "3s"
        );
        assert_eq!(show(pool, "lock_timeout").await, "5s");
        assert_eq!(show(pool, "statement_timeout").await, "30s");
        assert_eq!(show(pool, "tcp_keepalives_idle").await, "2");
        assert_eq!(show(pool, "tcp_keepalives_interval").await, "1");
        assert_eq!(show(pool, "tcp_keepalives_count").await, "2");
        assert_eq!(show(pool, "tcp_user_timeout").await, "4000");
    }
}

/// A writer that stops inside its transaction (as a `kill -STOP`ed process
/// would) holds the stream's next version; another writer to that stream
/// waits, and goes on once the server has ended the frozen session.
#[tokio::test]
async fn a_frozen_transaction_is_ended_and_its_locks_freed_within_the_idle_limit() {
    let test = TestStore::new().await;
    let idle_limit = Duration::from_secs(1);
    let frozen_store = PostgresStore::connect_with(
        PostgresConfig::new(database_url())
            .with_schema_name(test.schema().clone())
            .with_pool_size(1)
            .with_session_limits(SessionLimits::new().with_idle_in_transaction_timeout(idle_limit)),
    )
    .await
    .expect("connect");
    let stream = StreamId::new("door-frozen").expect("stream id");
    let event = || vec![NewEvent::raw("Opened", serde_json::json!({}))];

    let mut frozen = frozen_store.pool().acquire().await.expect("acquire");
    let mut tx = frozen.begin().await.expect("begin");
    frozen_store
        .append_in(&mut tx, &stream, ExpectedVersion::NoStream, event())
        .await
        .expect("append inside the transaction");
    // The transaction now sends nothing: frozen.
    let frozen_at = Instant::now();

    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        test.store
            .append(&stream, ExpectedVersion::NoStream, event()),
    )
    .await
    .expect("the second writer is never blocked past the limits")
    .expect("the frozen transaction never committed, so the stream was free");
    let waited = frozen_at.elapsed();
    assert_eq!(outcome.version, 1);
    assert!(
        waited >= idle_limit - Duration::from_millis(100) && waited < Duration::from_secs(4),
        "the second writer went on after {waited:?}; the idle limit is {idle_limit:?}"
    );
    let ended = tx.commit().await;
    assert!(ended.is_err(), "the server ended the frozen session");
    let stored: Vec<_> = test
        .store
        .read_stream(&stream, 1)
        .try_collect()
        .await
        .expect("read");
    assert_eq!(stored.len(), 1, "one event, the second writer's");
}
