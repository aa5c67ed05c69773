//! Shared test support: connection settings, a fresh schema per test that is
//! dropped when the test's last store handle goes away, and a counting
//! projection on a table keyed by event id.

use std::{collections::HashMap, sync::Arc};

use es_core::{
    async_trait, testing::conformance::CountingProjection, AppendOutcome, BoxError, EventStore,
    ExpectedVersion, NewEvent, Position, Projection, RecordedEvent, ReplayEvent, Snapshot,
    SnapshotStore, StoreError, StreamId,
};
use es_postgres::{
    sqlx::{self, Connection, PgConnection},
    PostgresCheckpoints, PostgresConfig, PostgresStore, PostgresTransaction, SchemaName,
};
use futures::stream::BoxStream;
use tokio::sync::watch;
use uuid::Uuid;

/// The server the tests run against (they fail, never skip, without it).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema name no other test uses.
pub fn fresh_schema(prefix: &str) -> SchemaName {
    SchemaName::new(format!("{prefix}_{}", Uuid::new_v4().simple())).expect("valid schema name")
}

/// Runs `sql` on a fresh connection to `url` from a thread of its own (usable
/// from `Drop`, inside or outside a runtime).
pub fn run_sql_blocking(url: String, sql: String) {
    let statement = sql.clone();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime for cleanup");
        runtime.block_on(async move {
            let mut conn = PgConnection::connect(&url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.as_str()))
                .execute(&mut conn)
                .await?;
            conn.close().await
        })
    })
    .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("cleanup {sql:?} failed: {error}"),
        Err(_) => eprintln!("cleanup {sql:?} panicked"),
    }
}

/// Drops a schema when dropped.
pub struct SchemaGuard {
    pub url: String,
    pub schema: SchemaName,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        run_sql_blocking(
            self.url.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema.quoted()),
        );
    }
}

/// A migrated store in a fresh schema; the schema is dropped with the last clone.
#[derive(Clone, Debug)]
pub struct TestStore {
    pub store: PostgresStore,
    guard: Arc<SchemaGuard>,
}

impl std::fmt::Debug for SchemaGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.schema.as_str())
    }
}

impl TestStore {
    pub async fn new() -> Self {
        Self::with_pool_size(6).await
    }

    pub async fn with_pool_size(pool_size: u32) -> Self {
        let schema = fresh_schema("es_test");
        let guard = Arc::new(SchemaGuard {
            url: database_url(),
            schema: schema.clone(),
        });
        let config = PostgresConfig::new(database_url())
            .with_schema_name(schema)
            .with_pool_size(pool_size);
        let store = PostgresStore::connect_with(config)
            .await
            .expect("connect to PostgreSQL (is it running? DATABASE_URL)");
        store.migrate().await.expect("migrate");
        Self { store, guard }
    }

    /// Another store (own pool, own listener) on the same schema, sharing the guard.
    pub async fn second_handle(&self) -> Self {
        let config = PostgresConfig::new(database_url())
            .with_schema_name(self.store.schema().clone())
            .with_pool_size(4);
        let store = PostgresStore::connect_with(config)
            .await
            .expect("connect second handle");
        Self {
            store,
            guard: self.guard.clone(),
        }
    }

    pub fn schema(&self) -> &SchemaName {
        self.store.schema()
    }
}

#[es_core::async_trait]
impl EventStore for TestStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.store.append(stream_id, expected, events).await
    }
    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        self.store.read_stream(stream_id, from_version)
    }
    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        self.store.replay_stream(stream_id, from_version)
    }
    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_all(after, limit).await
    }
    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        self.store.stream_version(stream_id).await
    }
    fn append_notifications(&self) -> watch::Receiver<()> {
        self.store.append_notifications()
    }
}

#[es_core::async_trait]
impl es_core::dcb::DcbStore for TestStore {
    async fn read_query(
        &self,
        query: &es_core::dcb::Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<es_core::dcb::QueryRead, StoreError> {
        self.store.read_query(query, after, limit).await
    }
    async fn append_tagged(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<es_core::dcb::TaggedEvent>,
        condition: Option<&es_core::dcb::AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        self.store
            .append_tagged(stream_id, expected, events, condition)
            .await
    }
}

#[es_core::async_trait]
impl SnapshotStore for TestStore {
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.store.load_snapshot(stream_id).await
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.store.save_snapshot(snapshot).await
    }
}

/// Counts applications per event id in `<schema>.applied` of the projection database.
#[derive(Clone)]
pub struct Counter {
    pub checkpoints: PostgresCheckpoints,
    table: String,
}

impl Counter {
    pub async fn new(checkpoints: PostgresCheckpoints) -> Self {
        let table = format!("{}.applied", checkpoints.schema().quoted());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {table} (event_id uuid PRIMARY KEY, n bigint NOT NULL)"
        )))
        .execute(checkpoints.pool())
        .await
        .expect("create the counting table");
        Self { checkpoints, table }
    }
}

#[async_trait]
impl Projection<PostgresTransaction> for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {} (event_id, n) VALUES ($1, 1) \
             ON CONFLICT (event_id) DO UPDATE SET n = applied.n + 1",
            self.table
        )))
        .bind(event.event_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
    async fn reset(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", self.table)))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl CountingProjection<PostgresTransaction> for Counter {
    async fn applied(&self) -> HashMap<Uuid, u64> {
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT event_id, n FROM {}",
            self.table
        )))
        .fetch_all(self.checkpoints.pool())
        .await
        .expect("read the counting table");
        rows.into_iter().map(|(id, n)| (id, n as u64)).collect()
    }
}

/// The first `count` events of the global log, read page after page.
///
/// `read_all` only returns events below the horizon of the log's own
/// writers (waiting for held-back ones about a second), so while a writer of
/// the test's log keeps its transaction open a page can come back short. This reads on until `count` events arrived, or returns the first
/// error; it gives up (panics) after 30 seconds.
pub async fn read_log_until(
    store: &TestStore,
    count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut log: Vec<RecordedEvent> = Vec::new();
    while log.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "the log showed {} of {count} events",
            log.len()
        );
        let after = log.last().map_or(Position::START, |event| event.position);
        log.extend(store.read_all(after, count - log.len()).await?);
    }
    Ok(log)
}
