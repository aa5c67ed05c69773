//! The store recovers after its pooled connections are cut (a server
//! restart, a failover, an administrator's `pg_terminate_backend`): an
//! operation that meets a dead connection fails as a transient backend
//! error, the connection is dropped, and the retried operation succeeds on a
//! new one, without writing twice. Only connections this test's own store
//! opened are terminated.

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::sqlx::{self, Connection, PgConnection};
use futures::TryStreamExt;
use uuid::Uuid;

const POOL_SIZE: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reconnects_after_its_connections_are_cut() {
    let store = TestStore::with_pool_size(POOL_SIZE).await;
    let s = StreamId::new(format!("cut-{}", Uuid::now_v7())).expect("stream id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("Before", serde_json::json!({}))],
        )
        .await
        .expect("append before the cut");

    // Hold every pooled connection at once to learn the server pids.
    let mut held = Vec::new();
    for _ in 0..POOL_SIZE {
        let mut conn = store.store.pool().acquire().await.expect("acquire");
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .expect("pid");
        held.push((conn, pid));
    }
    let pids: Vec<i32> = held.iter().map(|(_, pid)| *pid).collect();
    drop(held);
    let mut admin = PgConnection::connect(&crate::common::database_url())
        .await
        .expect("admin connection");
    for pid in &pids {
        let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut admin)
            .await
            .expect("terminate");
        assert!(killed, "the store's connection {pid} was terminated");
    }
    admin.close().await.expect("close the admin connection");

    // Each dead connection fails one operation, transiently; a retry of the
    // same batch then succeeds on a new connection.
    let event = NewEvent::raw("After", serde_json::json!({}));
    let mut failures = 0;
    let outcome = loop {
        match store
            .append(&s, ExpectedVersion::Exact(1), vec![event.clone()])
            .await
        {
            Ok(outcome) => break outcome,
            Err(error) => {
                assert!(
                    error.is_transient(),
                    "a cut connection is transient: {error}"
                );
                failures += 1;
                assert!(
                    failures <= POOL_SIZE,
                    "the store never reconnected: {error}"
                );
            }
        }
    };
    assert_eq!(outcome.version, 2);
    let stored: Vec<_> = store.read_stream(&s, 1).try_collect().await.expect("read");
    let types: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["Before", "After"], "nothing written twice");
    let log = crate::common::read_log_until(&store, 2)
        .await
        .expect("read_all");
    assert_eq!(log.len(), 2);
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.store.pool())
        .await
        .expect("a live connection");
    assert!(!pids.contains(&pid), "served by a new connection");
}
