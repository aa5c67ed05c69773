//! dcb.events on PostgreSQL, each against a baseline in the same run:
//!
//! * one client: a conditional append (lock, check, write, in one
//!   transaction) against a plain `EventStore::append` of the same event;
//! * 8 writers on disjoint boundaries (conditional) against 8 writers
//!   appending the same events unconditionally;
//! * 8 writers racing on one boundary: exactly one commit per round, and how
//!   long the refused ones waited (printed, not judged);
//! * a read by tag of 100 events out of a log of `DCB_BENCH_EVENTS` (default
//!   1,000,000) against the raw indexed `SELECT` returning the same rows.

mod pg_support;
mod support;

use std::{sync::Arc, time::Instant};

use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{sqlx, PostgresStore};
use tokio::sync::Barrier;
use uuid::Uuid;

const WRITERS: usize = 8;
const APPENDS: usize = 10;

fn fresh_tag() -> Tag {
    Tag::pair("b", Uuid::now_v7()).expect("tag")
}

fn one_event(tag: &Tag) -> TaggedEvent {
    TaggedEvent::new(
        NewEvent::raw("Deposited", serde_json::json!({ "by": 1 })),
        [tag.clone()],
    )
}

/// "No event with this tag yet": the condition of a fresh boundary.
fn fresh_condition(tag: &Tag) -> AppendCondition {
    AppendCondition::new(Query::from_items([QueryItem::tags([tag.clone()])]), None)
}

async fn conditional(store: &PostgresStore) {
    let tag = fresh_tag();
    store
        .append_events(vec![one_event(&tag)], Some(&fresh_condition(&tag)))
        .await
        .expect("conditional append");
}

async fn plain(store: &PostgresStore) {
    let stream = StreamId::new(format!("p-{}", Uuid::now_v7())).expect("stream id");
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![one_event(&fresh_tag()).event],
        )
        .await
        .expect("plain append");
}

/// `WRITERS` tasks of `APPENDS` appends each, conditional or plain.
async fn writers(store: &PostgresStore, conditional_appends: bool) {
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..APPENDS {
                    if conditional_appends {
                        conditional(&store).await;
                    } else {
                        plain(&store).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
}

/// One round of `WRITERS` racers on one boundary: how many committed, and
/// the longest time a racer took.
async fn race(store: &PostgresStore) -> (usize, f64) {
    let tag = fresh_tag();
    let query = Query::from_items([QueryItem::tags([tag.clone()])]);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, query, barrier, tag) =
                (store.clone(), query.clone(), barrier.clone(), tag.clone());
            tokio::spawn(async move {
                let read = store.read_query(&query, None, None).await.expect("read");
                barrier.wait().await;
                let started = Instant::now();
                let condition = AppendCondition::new(query, read.head);
                let result = store
                    .append_events(vec![one_event(&tag)], Some(&condition))
                    .await;
                assert!(
                    result
                        .as_ref()
                        .map_or_else(|e| e.is_condition_failed(), |_| true),
                    "{result:?}"
                );
                (result.is_ok(), started.elapsed().as_secs_f64())
            })
        })
        .collect();
    let mut committed = 0;
    let mut longest: f64 = 0.0;
    for task in tasks {
        let (ok, took) = task.await.expect("racer");
        committed += usize::from(ok);
        longest = longest.max(took);
    }
    (committed, longest)
}

/// Fills `store` with `events` events in one statement, each tagged
/// `item:<sequence mod (events / 100)>`: every tag marks 100 events.
async fn fill(store: &PostgresStore, events: i64) {
    let q = store.schema().quoted();
    let mut tx = store.pool().begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {q}.es_events (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
         SELECT pg_current_xact_id()::text::bigint, gen_random_uuid(), 'fill-' || g, 1, 'Filled', 1, \
                '{{\"n\": 1}}'::json, '{{}}'::json FROM generate_series(1, $1) g"
    )))
    .bind(events)
    .execute(&mut *tx)
    .await
    .expect("fill events");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {q}.es_event_tags (tag, txid, sequence) \
         SELECT 'item:' || (sequence % $1), txid, sequence FROM {q}.es_events"
    )))
    .bind((events / 100).max(1))
    .execute(&mut *tx)
    .await
    .expect("fill tags");
    tx.commit().await.expect("commit");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ANALYZE {q}.es_events, {q}.es_event_tags"
    )))
    .execute(store.pool())
    .await
    .expect("analyze");
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(WRITERS as u32));

    support::interleaved(
        &runtime,
        "pg_dcb_one_client (conditional append vs plain append)",
        30,
        APPENDS as f64,
        "goal: >= 0.9x",
        || async {
            for _ in 0..APPENDS {
                conditional(&store).await;
            }
        },
        || async {
            for _ in 0..APPENDS {
                plain(&store).await;
            }
        },
    );
    support::interleaved(
        &runtime,
        "pg_dcb_8_disjoint (8 conditional writers vs 8 plain writers)",
        20,
        (WRITERS * APPENDS) as f64,
        "goal: >= 0.9x",
        || writers(&store, true),
        || writers(&store, false),
    );
    let rounds = 20;
    let mut longest = Vec::new();
    for _ in 0..rounds {
        let (committed, took) = runtime.block_on(race(&store));
        assert_eq!(
            committed, 1,
            "a round on one boundary committed {committed}"
        );
        longest.push(took);
    }
    longest.sort_by(f64::total_cmp);
    println!(
        "RACE pg_dcb_8_on_one_boundary: {rounds} rounds, exactly one commit each; \
         slowest racer per round: median {:.2} ms, max {:.2} ms",
        longest[rounds / 2] * 1e3,
        longest[rounds - 1] * 1e3
    );

    let events: i64 = std::env::var("DCB_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let log = runtime.block_on(pg_support::store(2));
    let filled = Instant::now();
    runtime.block_on(fill(&log, events));
    println!(
        "filled {events} events in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let q = log.schema().quoted();
    let raw_sql = format!(
        "SELECT e.sequence, e.txid, e.event_id, e.version, e.event_type, e.schema_version, \
                e.payload, e.metadata, e.recorded_at, e.stream_id \
         FROM {q}.es_events e \
         WHERE e.sequence IN (SELECT t.sequence FROM {q}.es_event_tags t WHERE t.tag = $1) \
         ORDER BY e.txid, e.sequence"
    );
    let mut n = 0u64;
    let mut next_tag = move || {
        n += 1;
        format!("item:{}", n % (events as u64 / 100).max(1))
    };
    let tags: Vec<String> = (0..200).map(|_| next_tag()).collect();
    let (ours_tags, raw_tags) = (tags.clone(), tags);
    let (mut a, mut b) = (0usize, 0usize);
    let ours_median = support::interleaved(
        &runtime,
        &format!("pg_dcb_tag_read (100 of {events}: read_query vs raw indexed SELECT)"),
        40,
        100.0,
        "goal: time <= 1.5x raw, ratio >= 0.67x",
        || {
            a += 1;
            let tag = Tag::new(ours_tags[a % ours_tags.len()].clone()).expect("tag");
            let log = log.clone();
            async move {
                let read = log
                    .read_query(&Query::from_items([QueryItem::tags([tag])]), None, None)
                    .await
                    .expect("read");
                assert_eq!(read.events.len(), 100);
            }
        },
        || {
            b += 1;
            let tag = raw_tags[b % raw_tags.len()].clone();
            let (log, sql) = (log.clone(), raw_sql.clone());
            async move {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tag)
                    .fetch_all(log.pool())
                    .await
                    .expect("raw read");
                assert_eq!(rows.len(), 100);
            }
        },
    );
    println!(
        "pg_dcb_tag_read: read_query median {:.2} ms",
        ours_median * 1e3
    );
    runtime.block_on(pg_support::drop_schemas(&[&store, &log]));
}
