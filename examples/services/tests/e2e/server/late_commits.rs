//! Late commits at scale: 8 writers append one event at a time to their own
//! streams while, mid-run, one more transaction takes
//! its place in the log and is held open for a second as the others commit.
//! A live subscriber (started before the first append) must receive every
//! event exactly once, in global position order, each stream in version
//! order.
//!
//! Default: 8 x 2,500 appends (15 s in a debug build on the shared 2-core
//! machine). `ES_TORTURE_FULL=1`: 8 x 10,000 (41 s there).

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use crate::support::{
    booking_plan::{full, runtime},
    exactly_once::{report, Tally},
    server::admin_url,
};
use es_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId, Subscription};
use es_postgres::{PostgresConfig, PostgresStore};
use sqlx::Connection;
use uuid::Uuid;

const WRITERS: usize = 8;

/// Drops the test's schema, even when the test failed.
struct DropSchema(String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        let schema = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = runtime();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

#[test]
fn a_live_subscriber_receives_every_event_despite_a_late_commit() {
    let _servers = crate::support::server::servers_in_use();
    let per_writer: u64 = if full() { 10_000 } else { 2_500 };
    let schema = format!("es_torture_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let _cleanup = DropSchema(schema.clone());
    let rt = runtime();
    rt.block_on(async {
        let store = PostgresStore::connect_with(
            PostgresConfig::new(admin_url())
                .with_schema(schema.as_str())
                .expect("a valid schema")
                .with_pool_size(WRITERS as u32 + 2),
        )
        .await
        .expect("PostgreSQL must be running (DATABASE_URL)");
        store.migrate().await.expect("migrate");

        // The subscriber counts and checks as events arrive.
        let total = WRITERS as u64 * per_writer + 1;
        let subscriber = {
            let mut subscription = Subscription::new(store.clone(), Position::START);
            tokio::spawn(async move {
                let mut ids = HashSet::new();
                let mut versions: HashMap<StreamId, u64> = HashMap::new();
                let mut last = Position::START;
                let (mut duplicates, mut out_of_order) = (0u64, 0u64);
                while (ids.len() as u64) < total {
                    let event =
                        match tokio::time::timeout(Duration::from_secs(30), subscription.next())
                            .await
                        {
                            Ok(event) => event.expect("subscription error"),
                            Err(_) => break,
                        };
                    if !ids.insert(event.event_id) {
                        duplicates += 1;
                    }
                    let previous = versions.insert(event.stream_id.clone(), event.version);
                    if event.version != previous.unwrap_or(0) + 1 || event.position <= last {
                        out_of_order += 1;
                    }
                    last = event.position;
                }
                (ids.len() as u64, duplicates, out_of_order)
            })
        };

        let started = Instant::now();
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    let stream = StreamId::new(format!("writer{writer}-{}", Uuid::now_v7()))
                        .expect("stream id");
                    for n in 0..per_writer {
                        let event = NewEvent::raw(
                            "Written",
                            serde_json::json!({ "writer": writer, "n": n }),
                        );
                        store
                            .append(&stream, ExpectedVersion::Exact(n), vec![event])
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();

        // Mid-run: one append takes its place in the log and stays
        // uncommitted for a second while the writers go on committing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut held = sqlx::PgConnection::connect(&admin_url())
            .await
            .expect("connect");
        let mut tx = held.begin().await.expect("begin");
        let held_stream = StreamId::new(format!("held-{}", Uuid::now_v7())).expect("stream id");
        store
            .append_in(
                &mut tx,
                &held_stream,
                ExpectedVersion::NoStream,
                vec![NewEvent::raw("Held", serde_json::json!({}))],
            )
            .await
            .expect("held append");
        let before: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {schema}.es_events"
        )))
        .fetch_one(&store.pool().clone())
        .await
        .expect("count");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {schema}.es_events"
        )))
        .fetch_one(&store.pool().clone())
        .await
        .expect("count");
        assert!(
            after > before,
            "the writers did not commit while the transaction was held"
        );
        tx.commit().await.expect("commit the held append");
        store.notify_appended();

        for writer in writers {
            writer.await.expect("writer");
        }
        let appended = started.elapsed();
        let (received, duplicates, out_of_order) = subscriber.await.expect("subscriber");
        eprintln!(
            "{total} events: appended in {appended:?}, all received after {:?}",
            started.elapsed()
        );
        report(
            "late commits",
            total,
            "subscriber",
            Tally {
                applied: received + duplicates,
                duplicates,
                lost: total - received,
                out_of_order,
            },
        );
        assert_eq!(received, total, "events lost");
        assert_eq!(duplicates, 0, "events delivered twice");
        assert_eq!(out_of_order, 0, "events out of order");
    });
}
