//! Idempotent handling in a real database: the consumer keeps its state and
//! its processed-event records in SQLite, in one sqlx transaction per event.
//! The consumer task is killed twice mid-stream and restarted: every event is
//! applied exactly once, each stream in version order (the scenario is shared
//! with PostgreSQL in `inbox_scenario`).

use std::path::PathBuf;

use crate::{harness::Harness, inbox_scenario::applied_table};
use es_amqp::{SqliteIdempotencyStore, TransactionalHandler};
use es_core::{async_trait, BoxError, RecordedEvent};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Sqlite, Transaction,
};

/// The handler's own table, written in the idempotency transaction.
pub struct ApplyRow;

#[async_trait]
impl TransactionalHandler<Transaction<'static, Sqlite>> for ApplyRow {
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        let in_order = i64::from(event.version == previous_version.unwrap_or(0) + 1);
        sqlx::query(
            "INSERT INTO applied (event_id, times, in_order) VALUES (?, 1, ?)
             ON CONFLICT (event_id) DO UPDATE SET times = times + 1",
        )
        .bind(event.event_id.to_string())
        .bind(in_order)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

applied_table!(
    SqliteIdempotencyStore,
    "SELECT COUNT(*), COALESCE(SUM(times > 1), 0), COALESCE(SUM(in_order = 0), 0) FROM applied",
    "CREATE TABLE applied (event_id TEXT PRIMARY KEY, times INTEGER NOT NULL, in_order INTEGER NOT NULL)"
);

/// A SQLite file of the test's own, holding the inbox and `applied`.
pub struct SqliteDatabase {
    pub store: SqliteIdempotencyStore,
    path: PathBuf,
}

impl SqliteDatabase {
    /// Opens (creates) the test's database file.
    pub async fn open(h: &Harness) -> Self {
        let path = std::env::temp_dir().join(format!("es-amqp-{}.db", h.names.suffix));
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("open SQLite");
        Self {
            store: SqliteIdempotencyStore::new(pool),
            path,
        }
    }

    /// Closes the database and deletes its files.
    pub async fn remove(self) {
        self.store.pool().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_state_survives_a_killed_consumer_exactly_once() {
    let h = Harness::new("sqlite");
    let database = SqliteDatabase::open(&h).await;
    crate::inbox_scenario::state_survives_a_killed_consumer_exactly_once(
        &h,
        database.store.clone(),
        ApplyRow,
    )
    .await;
    database.remove().await;
}
