//! `horizon` shows a transaction held open in another database.

use sqlx::{Connection, PgConnection};

use crate::support::{es_json, es_ok, pg_url, with, PgSchema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn horizon_shows_an_open_transaction_of_another_database() {
    let pg = PgSchema::new().await;
    let other_db = pg_url()
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/postgres"))
        .expect("URL");
    let mut holder = PgConnection::connect(&other_db)
        .await
        .expect("connect to postgres");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .expect("pid");
    sqlx::query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    // Taking a transaction id is what holds back pg_snapshot_xmin.
    let xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut holder)
        .await
        .expect("xid");
    let args = pg.args();

    let report = es_json(&with(&args, &["horizon"])).await;
    let xmin = report["xmin"].as_i64().expect("xmin");
    assert!(
        xmin <= xid,
        "the horizon {xmin} is not past our open transaction {xid}"
    );
    let ours = report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap_or_else(|| panic!("pid {pid} missing from {report}"));
    assert_eq!(ours["datname"], "postgres");
    assert_eq!(ours["backend_xid"], xid & 0xFFFF_FFFF);
    assert_eq!(ours["state"], "idle in transaction");
    assert!(ours["query"]
        .as_str()
        .unwrap()
        .contains("pg_current_xact_id"));
    let human = es_ok(&with(&args, &["horizon"])).await;
    assert!(
        human.contains("xmin horizon:") && human.contains(&pid.to_string()),
        "{human}"
    );

    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("rollback");
    holder.close().await.expect("close");
}
