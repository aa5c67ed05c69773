//! `es projections` and `es relay status` show who holds the lease named
//! after each checkpoint: a real PostgreSQL lease session, a SQLite lease row.

use es_core::{CheckpointStore, Position};
use es_lease::LeaseStore;
use es_postgres::{PostgresConfig, PostgresLeaseConfig, PostgresLeases};
use es_sqlite::{SqliteLeases, SqliteStore};
use serde_json::Value;

use crate::support::{append, es_json, es_ok, pg_url, unique, with, PgSchema};

/// Saves `position` as the checkpoint of `name`, as a worker does.
async fn save_checkpoint<C: CheckpointStore>(checkpoints: &C, name: &str, position: Position) {
    let tx = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(tx, name, Position::START, position)
        .await
        .expect("commit checkpoint");
}

/// The row of checkpoint `name` in a `projections` or `relays` list.
fn row<'a>(report: &'a Value, list: &str, name: &str) -> &'a Value {
    report[list]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_lease_session_shows_as_the_holder_until_released() {
    let pg = PgSchema::new().await;
    let head = append(&pg.store, "room-1", &["Booked"]).await;
    // Unique: the lock key space is the whole database, shared by test runs.
    let name = unique("rooms-view");
    save_checkpoint(&pg.store.checkpoints(), &name, head).await;
    let args = pg.args();

    let leases = PostgresLeases::new(PostgresConfig::new(pg_url()), PostgresLeaseConfig::new())
        .expect("leases");
    let lease = leases
        .try_acquire(&name, "booking@test-host:4242")
        .await
        .expect("store")
        .expect("free");

    let report = es_json(&with(&args, &["projections"])).await;
    let holder = &row(&report, "projections", &name)["holder"];
    assert_eq!(holder["holder"], "booking@test-host:4242", "{report}");
    assert!(holder["pid"].as_i64().expect("pid") > 0, "{holder}");
    assert!(holder["since"].is_string(), "{holder}");
    assert_eq!(holder["expires_at"], Value::Null, "a session has no expiry");

    let human = es_ok(&with(&args, &["projections"])).await;
    assert!(human.contains("HOLDER"), "{human}");
    assert!(human.contains("booking@test-host:4242 (pid "), "{human}");
    let status = es_json(&with(&args, &["relay", "status", &name])).await;
    assert_eq!(
        status["relays"][0]["holder"]["holder"],
        "booking@test-host:4242"
    );

    lease.release().await.expect("release");
    let report = es_json(&with(&args, &["projections"])).await;
    assert_eq!(row(&report, "projections", &name)["holder"], Value::Null);
    let human = es_ok(&with(&args, &["relay", "status", &name])).await;
    assert!(!human.contains("booking@test-host"), "{human}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_lease_row_shows_as_the_holder_until_released() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let head = append(&store, "cart-1", &["Created"]).await;
    save_checkpoint(&store.checkpoints(), "carts-view", head).await;
    let url = format!("sqlite:{}", path.display());
    let args = ["--store", url.as_str(), "projections"];

    // No lease table yet: nobody, and `es` creates nothing.
    let report = es_json(&args[..]).await;
    assert_eq!(
        row(&report, "projections", "carts-view")["holder"],
        Value::Null
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'es_leases'",
    )
    .fetch_one(store.pool())
    .await
    .expect("look for the table");
    assert_eq!(tables, 0, "es must not create the lease table");

    let leases = SqliteLeases::from_pool(store.pool().clone())
        .await
        .expect("leases");
    let lease = leases
        .try_acquire("carts-view", "carts@host-2")
        .await
        .expect("store")
        .expect("free");
    let report = es_json(&args[..]).await;
    let holder = &row(&report, "projections", "carts-view")["holder"];
    assert_eq!(holder["holder"], "carts@host-2", "{report}");
    assert!(holder["expires_at"].is_string(), "{holder}");
    assert!(holder["since"].is_string(), "{holder}");
    assert_eq!(holder["pid"], Value::Null);

    lease.release().await.expect("release");
    let report = es_json(&args[..]).await;
    assert_eq!(
        row(&report, "projections", "carts-view")["holder"],
        Value::Null
    );
}
