//! Migrations are explicit, idempotent, safe to run concurrently, and per
//! schema (several stores share one database).

mod common;

use common::{fresh_schema, SchemaGuard};
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{sqlx, PostgresConfig, PostgresStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_and_repeated_migrations_apply_once_per_schema() {
    let schemas = [fresh_schema("es_mig"), fresh_schema("es_mig")];
    let _guards: Vec<SchemaGuard> = schemas
        .iter()
        .map(|schema| SchemaGuard {
            url: common::database_url(),
            schema: schema.clone(),
        })
        .collect();
    let mut stores = Vec::new();
    for schema in &schemas {
        let config = PostgresConfig::new(common::database_url())
            .with_schema_name(schema.clone())
            .with_pool_size(4);
        stores.push(PostgresStore::connect_with(config).await.expect("connect"));
    }
    // Four concurrent migrations of each schema, then one more.
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move { store.migrate().await })
        })
        .collect();
    for run in runs {
        run.await.expect("task").expect("migrate");
    }
    for store in &stores {
        store.migrate().await.expect("migrate again");
        let applied: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {}.es_migrations",
            store.schema().quoted()
        ))
        .fetch_one(store.pool())
        .await
        .expect("count");
        // Event store steps 1 and 2, checkpoints step 1.
        assert_eq!(applied, 3, "each step recorded once");
    }
    // The schemas are independent event stores.
    let s = StreamId::new("same-stream-id").expect("stream id");
    for store in &stores {
        let outcome = store
            .append(
                &s,
                ExpectedVersion::NoStream,
                vec![NewEvent::raw("A", serde_json::Value::Null)],
            )
            .await
            .expect("append");
        assert_eq!(outcome.version, 1);
    }
}
