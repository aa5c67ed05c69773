//! Migrations are explicit, idempotent, safe to run concurrently, and per
//! schema (several stores share one database).

use crate::common::{fresh_schema, SchemaGuard};
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{sqlx, PostgresConfig, PostgresStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_and_repeated_migrations_apply_once_per_schema() {
    let schemas = [fresh_schema("es_mig"), fresh_schema("es_mig")];
    let _guards: Vec<SchemaGuard> = schemas
        .iter()
        .map(|schema| SchemaGuard {
            url: crate::common::database_url(),
            schema: schema.clone(),
        })
        .collect();
    let mut stores = Vec::new();
    for schema in &schemas {
        let config = PostgresConfig::new(crate::common::database_url())
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
        let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}.es_migrations",
            store.schema().quoted()
        )))
        .fetch_one(store.pool())
        .await
        .expect("count");
        // Event store steps 1 to 6, checkpoints step 1.
        assert_eq!(applied, 7, "each step recorded once");
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

/// A schema from before payloads were kept as text (`jsonb` columns, event
/// store steps 3 and 4 not applied) is brought up to date by `migrate`: its
/// events stay readable, and new ones keep their exact JSON text.
#[tokio::test]
async fn a_schema_with_jsonb_columns_migrates_to_exact_json_text() {
    let store = crate::common::TestStore::new().await;
    let q = store.schema().quoted();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE {q}.es_events ALTER COLUMN payload TYPE jsonb, \
             ALTER COLUMN metadata TYPE jsonb; \
         ALTER TABLE {q}.es_snapshots ALTER COLUMN state TYPE jsonb, DROP COLUMN revision; \
         DELETE FROM {q}.es_migrations WHERE component = 'event_store' AND version >= 3"
    )))
    .execute(store.store.pool())
    .await
    .expect("turn the schema back into the jsonb layout");
    let s = StreamId::new("written-before-the-upgrade").expect("stream id");
    let old = NewEvent::raw("Old", serde_json::json!({ "n": 1 }));
    store
        .append(&s, ExpectedVersion::NoStream, vec![old.clone()])
        .await
        .expect("append into the jsonb layout");

    store.store.migrate().await.expect("upgrade");
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT data_type FROM information_schema.columns \
         WHERE table_schema = $1 AND column_name IN ('payload', 'metadata', 'state') \
         ORDER BY table_name, column_name",
    )
    .bind(store.schema().as_str())
    .fetch_all(store.store.pool())
    .await
    .expect("column types");
    assert_eq!(types, ["json", "json", "json"]);

    let exact = serde_json::json!({ "v": 1e16, "w": 117.63331139400017 });
    let new = NewEvent::raw("New", exact.clone());
    store
        .append(&s, ExpectedVersion::Exact(1), vec![new])
        .await
        .expect("append after the upgrade");
    let stored: Vec<_> = futures::TryStreamExt::try_collect(store.read_stream(&s, 1))
        .await
        .expect("read both events");
    assert_eq!(stored[0].payload, old.payload, "old rows stay readable");
    assert_eq!(stored[1].payload.to_string(), exact.to_string());
}
