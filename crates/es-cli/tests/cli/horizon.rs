//! `horizon` lists a transaction held open in another database, which holds
//! nothing back, and names the transaction that writes this store's log and
//! holds its horizon.

use es_core::{ExpectedVersion, NewEvent, StreamId};
use sqlx::{Connection, PgConnection};

use crate::support::{es_json, es_ok, pg_url, with, PgSchema};

/// The entry of `pid` in `report["transactions"]`.
fn entry(report: &serde_json::Value, pid: i32) -> serde_json::Value {
    report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap_or_else(|| panic!("pid {pid} missing from {report}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn horizon_names_the_log_writer_holding_it_and_not_a_transaction_elsewhere() {
    let pg = PgSchema::new().await;
    let other_db = pg_url()
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/postgres"))
        .expect("URL");
    let mut elsewhere = PgConnection::connect(&other_db)
        .await
        .expect("connect to postgres");
    let elsewhere_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut elsewhere)
        .await
        .expect("pid");
    sqlx::query("BEGIN")
        .execute(&mut elsewhere)
        .await
        .expect("begin");
    let elsewhere_xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut elsewhere)
        .await
        .expect("xid");
    // A younger transaction completes, so the cluster's next transaction id
    // moves past the open one.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(pg.store.pool())
        .await
        .expect("a short transaction");
    let args = pg.args();

    // A transaction of another database is listed, but holds nothing back.
    let report = es_json(&with(&args, &["horizon"])).await;
    let horizon = report["horizon"].as_i64().expect("horizon");
    assert!(
        horizon > elsewhere_xid,
        "the horizon {horizon} waits for a transaction of another database ({elsewhere_xid})"
    );
    let theirs = entry(&report, elsewhere_pid);
    assert_eq!(theirs["datname"], "postgres");
    assert_eq!(theirs["backend_xid"], elsewhere_xid & 0xFFFF_FFFF);
    assert_eq!(theirs["state"], "idle in transaction");
    assert_eq!(theirs["writes_log"], false);
    assert_eq!(theirs["holds_horizon"], false);

    // A transaction that appended to this store and stays open holds it.
    let mut writer = PgConnection::connect(&pg_url()).await.expect("connect");
    let writer_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut writer)
        .await
        .expect("pid");
    let mut tx = writer.begin().await.expect("begin");
    let writer_xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *tx)
        .await
        .expect("xid");
    pg.store
        .append_in(
            &mut tx,
            &StreamId::new("held-open").expect("stream id"),
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("Held", serde_json::json!({}))],
        )
        .await
        .expect("append in the open transaction");
    let report = es_json(&with(&args, &["horizon"])).await;
    assert_eq!(report["horizon"].as_i64(), Some(writer_xid), "{report}");
    let ours = entry(&report, writer_pid);
    assert_eq!(ours["writes_log"], true);
    assert_eq!(ours["holds_horizon"], true);
    assert_eq!(entry(&report, elsewhere_pid)["holds_horizon"], false);
    let human = es_ok(&with(&args, &["horizon"])).await;
    assert!(
        human.contains("log horizon:") && human.contains(&writer_pid.to_string()),
        "{human}"
    );

    tx.rollback().await.expect("rollback");
    sqlx::query("ROLLBACK")
        .execute(&mut elsewhere)
        .await
        .expect("rollback");
    elsewhere.close().await.expect("close");
    writer.close().await.expect("close");
}
