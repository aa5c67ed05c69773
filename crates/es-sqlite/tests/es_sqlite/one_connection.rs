//! Nothing waits on itself, on SQLite: every path of the projection runner
//! (catch-up, rebuild, racing runners, live following) completes on an
//! in-memory store (one connection, shared by the events and the
//! checkpoints) and on a file opened through a pool of one connection.

use std::time::Duration;

use es_core::testing::conformance::projection_runner_on_one_connection;
use es_sqlite::{
    sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    SqliteStore,
};

use crate::conformance::Counter;

#[test]
fn projection_runner_completes_on_an_in_memory_store() {
    es_core::testing::run(async {
        let store = SqliteStore::in_memory().await.expect("in-memory store");
        let checkpoints = store.checkpoints();
        let counter = Counter::new(checkpoints.clone()).await;
        projection_runner_on_one_connection(store, checkpoints, counter).await;
    });
}

#[test]
fn projection_runner_completes_on_a_file_pool_of_one_connection() {
    es_core::testing::run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.db");
        drop(SqliteStore::open(&path).await.expect("create the store"));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // Far above the check's bound on each step: a wait for a second
            // connection fails the check, not the pool.
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(SqliteConnectOptions::new().filename(&path))
            .await
            .expect("a pool of one connection");
        let store = SqliteStore::from_pool(pool);
        let checkpoints = store.checkpoints();
        let counter = Counter::new(checkpoints.clone()).await;
        projection_runner_on_one_connection(store, checkpoints, counter).await;
    });
}
