//! P5: projection catch-up into PostgreSQL from a 100,000-event log.
//!
//! Setup (once per run, in a schema of its own, dropped at the end): 33,334
//! Booking-like streams (created, reserved, completed; the last one only
//! created) = 100,000 events, appended by 8 concurrent writers.
//!
//! One round of `catch_up` = a [`ProjectionRunner`] with
//! [`PostgresCheckpoints`] applying the whole log from zero, in batches of
//! [`BATCH`]: each batch is one transaction holding one upsert per event into
//! a `bookings` table (one row per stream) plus the checkpoint's
//! compare-and-set. Before each round (outside the clock) the projection
//! table is truncated and the checkpoint deleted, so every round rebuilds
//! the projection from an empty table.
//!
//! The baseline in the same run, `raw_select`, reads the same 100,000 rows
//! with sqlx in keyset pages of the same size (same columns, same order, no
//! decoding into events, no writes): the floor of reading the log.
//!
//! One iteration takes seconds, so this is a plain harness rather than
//! criterion (which insists on at least ten samples): after one untimed
//! rebuild (warm-up and sanity check) it alternates [`ROUNDS`] catch-ups and
//! raw reads and reports the medians.
//!
//! Run: `cargo bench --bench pg_projection` (needs PostgreSQL at `DATABASE_URL`).

mod pg_support;

use std::time::Instant;

use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, NewEvent, Projection, ProjectionRunner,
    RecordedEvent, StreamId,
};
use es_postgres::{sqlx, PostgresCheckpoints, PostgresStore, PostgresTransaction};
use sqlx::Row;

const GROUP: &str = "p5_pg_projection";
/// Events in the log.
const EVENTS: usize = 100_000;
/// Events per projection transaction (= rows per raw page).
const BATCH: usize = 1_000;
const WRITERS: usize = 8;
/// Timed rounds (each: one catch-up from zero, then one raw read).
const ROUNDS: usize = 3;
const GOAL_EVENTS_PER_SECOND: f64 = 50_000.0;

/// One row per booking: its status, slot and last applied version.
struct BookingList {
    name: String,
    upsert: String,
    truncate: String,
}

impl BookingList {
    fn new(store: &PostgresStore, name: &str) -> Self {
        let table = format!("{}.bookings", store.schema().quoted());
        Self {
            name: name.to_owned(),
            upsert: format!(
                "INSERT INTO {table} AS b (id, status, parking_slot_ref_no, version) \
                 VALUES ($1, $2, COALESCE($3, ''), $4) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                    parking_slot_ref_no = COALESCE($3, b.parking_slot_ref_no), \
                    version = excluded.version"
            ),
            truncate: format!("TRUNCATE {table}"),
        }
    }
}

#[async_trait]
impl Projection<PostgresTransaction> for BookingList {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let status = match event.event_type.as_str() {
            "BookingCreated" => "created",
            "BookingReserved" => "reserved",
            "BookingCompleted" => "completed",
            _ => return Ok(()),
        };
        let slot = event.payload["parking_slot_ref_no"].as_str();
        sqlx::query(&self.upsert)
            .bind(event.stream_id.as_str())
            .bind(status)
            .bind(slot)
            .bind(i64::try_from(event.version)?)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        sqlx::query(&self.truncate).execute(&mut **tx).await?;
        Ok(())
    }
}

/// 100,000 Booking-like events, 8 writers, one append per stream.
async fn fill(store: &PostgresStore) {
    let streams = EVENTS.div_ceil(3);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for s in (w..streams).step_by(WRITERS) {
                let stream = StreamId::new(format!("booking-{s}")).expect("stream id");
                let mut events = vec![NewEvent::raw(
                    "BookingCreated",
                    serde_json::json!({ "parking_slot_ref_no": format!("slot-{}", s % 100) }),
                )];
                // The last stream is cut short so that the log holds EVENTS exactly.
                let left = EVENTS - s * 3;
                if left >= 3 {
                    events.push(NewEvent::raw("BookingReserved", serde_json::json!({})));
                    events.push(NewEvent::raw("BookingCompleted", serde_json::json!({})));
                }
                store
                    .append(&stream, ExpectedVersion::NoStream, events)
                    .await
                    .expect("append");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}

/// Reads the same rows as the runner, raw: keyset pages of `BATCH`.
async fn raw_select(store: &PostgresStore) -> usize {
    let sql = format!(
        "SELECT sequence, txid, event_id, stream_id, version, event_type, schema_version, \
                payload, metadata, recorded_at \
         FROM {}.es_events WHERE (txid, sequence) > ($1, $2) \
         ORDER BY txid, sequence LIMIT $3",
        store.schema().quoted()
    );
    let (mut txid, mut sequence, mut read) = (0i64, 0i64, 0usize);
    loop {
        let rows = sqlx::query(&sql)
            .bind(txid)
            .bind(sequence)
            .bind(BATCH as i64)
            .fetch_all(store.pool())
            .await
            .expect("raw select");
        let Some(last) = rows.last() else {
            return read;
        };
        for row in &rows {
            // Read every column, as a consumer of the rows would.
            let _: (i64, i64, uuid::Uuid, String, i64, String, i32) = (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
                row.get(6),
            );
            let _: (serde_json::Value, serde_json::Value) = (row.get(7), row.get(8));
        }
        sequence = last.get(0);
        txid = last.get(1);
        read += rows.len();
    }
}

/// Median of `samples` (seconds).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = runtime.block_on(pg_support::store(WRITERS as u32));
    let checkpoints: PostgresCheckpoints = store.checkpoints();
    let started = Instant::now();
    runtime.block_on(async {
        sqlx::query(&format!(
            "CREATE TABLE {}.bookings (id TEXT PRIMARY KEY, status TEXT NOT NULL, \
             parking_slot_ref_no TEXT NOT NULL, version BIGINT NOT NULL)",
            store.schema().quoted()
        ))
        .execute(store.pool())
        .await
        .expect("create the projection table");
        fill(&store).await;
        sqlx::query(&format!("ANALYZE {}.es_events", store.schema().quoted()))
            .execute(store.pool())
            .await
            .expect("analyze");
    });
    eprintln!(
        "{GROUP} setup: {EVENTS} events appended in {:.1?}",
        started.elapsed()
    );

    let runner = ProjectionRunner::new(
        store.clone(),
        checkpoints,
        BookingList::new(&store, "booking_list"),
    )
    .with_batch_size(BATCH);
    let delete_checkpoint = format!(
        "DELETE FROM {}.es_checkpoints WHERE projection = $1",
        store.schema().quoted()
    );
    let truncate = format!("TRUNCATE {}.bookings", store.schema().quoted());
    let count_rows = format!("SELECT count(*) FROM {}.bookings", store.schema().quoted());

    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        // Warm-up and sanity check: one full rebuild through the public API.
        runner.rebuild().await.expect("rebuild");
        let rows: i64 = sqlx::query_scalar(&count_rows)
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(rows as usize, EVENTS.div_ceil(3), "one row per booking");
        assert_eq!(raw_select(&store).await, EVENTS, "raw select reads the log");

        for round in 0..ROUNDS {
            // From zero: empty table, no checkpoint (outside the clock).
            sqlx::query(&truncate)
                .execute(store.pool())
                .await
                .expect("truncate");
            sqlx::query(&delete_checkpoint)
                .bind(runner.projection().name())
                .execute(store.pool())
                .await
                .expect("delete checkpoint");
            let started = Instant::now();
            runner.catch_up().await.expect("catch up");
            ours.push(started.elapsed().as_secs_f64());

            let started = Instant::now();
            let read = raw_select(&store).await;
            raw.push(started.elapsed().as_secs_f64());
            assert_eq!(read, EVENTS);
            eprintln!(
                "{GROUP} round {}: catch_up {:.2} s, raw_select {:.3} s",
                round + 1,
                ours[round],
                raw[round]
            );
        }
    });
    runtime.block_on(pg_support::drop_schemas(&[&store]));

    let (ours, raw) = (
        EVENTS as f64 / median(&mut ours),
        EVENTS as f64 / median(&mut raw),
    );
    println!(
        "RATIO {GROUP}: catch_up {ours:.0}/s, raw_select {raw:.0}/s, ratio {:.2}x (median of {ROUNDS} rounds; catch-up writes one upsert per event, the raw select only reads)",
        ours / raw
    );
    println!(
        "FIGURE {GROUP}: catch_up {ours:.0} events/s from a {EVENTS}-event log in batches of {BATCH} (goal: >= {GOAL_EVENTS_PER_SECOND:.0} events/s: {})",
        if ours >= GOAL_EVENTS_PER_SECOND { "met" } else { "MISSED" }
    );
}
