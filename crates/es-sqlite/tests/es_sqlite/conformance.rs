//! The conformance suite against SQLite: a database file (WAL, several
//! connections) and a private in-memory database.

use std::collections::HashMap;

use es_core::{
    async_trait, testing::conformance::CountingProjection, BoxError, Projection, RecordedEvent,
};
use es_sqlite::{sqlx, SqliteCheckpoints, SqliteStore, SqliteTransaction};
use uuid::Uuid;

/// Counts applications per event id in a table of the projection database.
#[derive(Clone)]
pub(crate) struct Counter(SqliteCheckpoints);

impl Counter {
    pub(crate) async fn new(checkpoints: SqliteCheckpoints) -> Self {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)",
        )
        .execute(checkpoints.pool())
        .await
        .expect("create the counting table");
        Self(checkpoints)
    }
}

#[async_trait]
impl Projection<SqliteTransaction> for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    async fn apply(
        &self,
        tx: &mut SqliteTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        sqlx::query("INSERT INTO applied (event_id, n) VALUES (?, 1) ON CONFLICT (event_id) DO UPDATE SET n = n + 1")
            .bind(event.event_id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
    async fn reset(&self, tx: &mut SqliteTransaction) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM applied")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl CountingProjection<SqliteTransaction> for Counter {
    async fn applied(&self) -> HashMap<Uuid, u64> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT event_id, n FROM applied")
            .fetch_all(self.0.pool())
            .await
            .expect("read the counting table");
        rows.into_iter()
            .map(|(id, n)| (Uuid::parse_str(&id).expect("uuid"), n as u64))
            .collect()
    }
}

/// A fresh database file in its own temporary directory (kept for the test's
/// duration by leaking the guard; the OS temp dir is cleaned by the system).
async fn file_store() -> SqliteStore {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    SqliteStore::open(dir.join("events.db"))
        .await
        .expect("open the store")
}

mod file {
    use super::*;
    es_core::conformance_tests!(
        store: file_store(),
        projection: |store: SqliteStore| async move {
            // The projection lives in a second database file, as in the examples.
            let dir = tempfile::tempdir().expect("temp dir").keep();
            let _ = store;
            let checkpoints = SqliteCheckpoints::open(dir.join("projection.db")).await.expect("open");
            (checkpoints.clone(), Counter::new(checkpoints).await)
        },
    );
    es_core::dcb_conformance_tests!(store: file_store());
}

mod memory {
    use super::*;
    es_core::conformance_tests!(
        store: async { SqliteStore::in_memory().await.expect("in-memory store") },
        projection: |store: SqliteStore| async move {
            let checkpoints = store.checkpoints();
            (checkpoints.clone(), Counter::new(checkpoints).await)
        },
    );
}

/// SQLite's checkpoint store refuses the names every backend refuses (a
/// file would take any name PostgreSQL cannot).
#[tokio::test]
async fn projection_names_are_checked() {
    let store = SqliteStore::in_memory().await.expect("in-memory store");
    es_core::testing::conformance::projection_names_are_checked(&store.checkpoints()).await;
}
