//! Idempotent handling in PostgreSQL: the consumer keeps its state and its
//! processed-event records in its own schema, in one sqlx transaction per
//! event. The consumer task is killed twice mid-stream and restarted: every
//! event is applied exactly once, each stream in version order (the scenario
//! is shared with SQLite in `inbox_scenario`).

use crate::{harness::Harness, inbox_scenario::applied_table};
use es_amqp::{PostgresIdempotencyStore, TransactionalHandler};
use es_core::{async_trait, BoxError, RecordedEvent};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres, Transaction,
};

/// The handler's own table, written in the idempotency transaction.
pub struct ApplyRow;

#[async_trait]
impl TransactionalHandler<Transaction<'static, Postgres>> for ApplyRow {
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        let in_order = event.version == previous_version.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO applied (event_id, times, in_order) VALUES ($1, 1, $2)
             ON CONFLICT (event_id) DO UPDATE SET times = applied.times + 1",
        )
        .bind(event.event_id.to_string())
        .bind(in_order)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

applied_table!(
    PostgresIdempotencyStore,
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE times > 1), COUNT(*) FILTER (WHERE NOT in_order) FROM applied",
    "CREATE TABLE applied (event_id TEXT PRIMARY KEY, times INTEGER NOT NULL, in_order BOOLEAN NOT NULL)"
);

/// A PostgreSQL schema of the test's own, holding the inbox and `applied`.
pub struct PostgresSchema {
    pub store: PostgresIdempotencyStore,
    admin: PgPool,
    schema: String,
}

impl PostgresSchema {
    /// Creates the schema and connects to it.
    pub async fn create() -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("es_amqp_test_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create schema");
        let options: PgConnectOptions = url.parse().expect("DATABASE_URL");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.options([("search_path", schema.as_str())]))
            .await
            .expect("connect to PostgreSQL");
        Self {
            store: PostgresIdempotencyStore::new(pool),
            admin,
            schema,
        }
    }

    /// Disconnects and drops the schema.
    pub async fn drop_schema(self) {
        self.store.pool().close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&self.admin)
        .await
        .expect("drop schema");
        self.admin.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_state_survives_a_killed_consumer_exactly_once() {
    let h = Harness::new("postgres");
    let schema = PostgresSchema::create().await;
    crate::inbox_scenario::state_survives_a_killed_consumer_exactly_once(
        &h,
        schema.store.clone(),
        ApplyRow,
    )
    .await;
    schema.drop_schema().await;
}
