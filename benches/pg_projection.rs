//! Projection catch-up into PostgreSQL from a 100,000-event log.
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
//! `catch_up_batched` is the same projection written per batch: its
//! [`Projection::apply_batch`] folds the batch into the last state of each
//! booking and writes those rows with one `UNNEST` upsert, in the same
//! transaction as the checkpoint.
//!
//! The baseline in the same run, `raw_select`, reads the same 100,000 rows
//! with sqlx in keyset pages of the same size (same columns, same order, no
//! decoding into events, no writes): the floor of reading the log.
//!
//! A catch-up takes seconds, so this is a plain harness rather than
//! criterion (which insists on at least ten samples): after one untimed
//! batched rebuild (warm-up and sanity check), the per-event projection is
//! timed once (it is the slow one: one round trip per event), then
//! [`ROUNDS`] batched catch-ups alternate with raw reads; the figures are
//! the medians.
//!
//! Run: `cargo bench -p es-benches --bench pg_projection` (needs PostgreSQL at `DATABASE_URL`).

mod pg_support;

use std::{collections::HashMap, time::Instant};

use es_core::{
    async_trait, BoxError, CheckpointStore, EventStore, ExpectedVersion, NewEvent, Projection,
    ProjectionError, ProjectionRunner, RecordedEvent, StreamId,
};
use es_postgres::{sqlx, PostgresCheckpoints, PostgresStore, PostgresTransaction};
use sqlx::Row;

const GROUP: &str = "pg_projection";
/// Events in the log.
const EVENTS: usize = 100_000;
/// Events per projection transaction (= rows per raw page).
const BATCH: usize = 1_000;
const WRITERS: usize = 8;
/// Timed rounds (each: one catch-up from zero, then one raw read).
const ROUNDS: usize = 3;
const GOAL_EVENTS_PER_SECOND: f64 = 50_000.0;

/// The projection's row change for one event: `(status, slot)`; `None` for
/// events it ignores. The slot is only in `BookingCreated`.
fn row_change(event: &RecordedEvent) -> Option<(&'static str, Option<&str>)> {
    let status = match event.event_type.as_str() {
        "BookingCreated" => "created",
        "BookingReserved" => "reserved",
        "BookingCompleted" => "completed",
        _ => return None,
    };
    Some((status, event.payload["parking_slot_ref_no"].as_str()))
}

/// What both booking lists share: the projection's name and its table.
struct BookingTable {
    name: String,
    table: String,
}

impl BookingTable {
    fn new(store: &PostgresStore, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            table: format!("{}.bookings", store.schema().quoted()),
        }
    }

    async fn truncate(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {}", self.table)))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// One row per booking (status, slot, last applied version), written with
/// one upsert per event: the straightforward projection.
struct BookingList {
    table: BookingTable,
    upsert: String,
}

impl BookingList {
    fn new(store: &PostgresStore, name: &str) -> Self {
        let table = BookingTable::new(store, name);
        Self {
            upsert: format!(
                "INSERT INTO {table} AS b (id, status, parking_slot_ref_no, version) \
                 VALUES ($1, $2, COALESCE($3, ''), $4) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                    parking_slot_ref_no = COALESCE($3, b.parking_slot_ref_no), \
                    version = excluded.version",
                table = table.table
            ),
            table,
        }
    }
}

#[async_trait]
impl Projection<PostgresTransaction> for BookingList {
    fn name(&self) -> &str {
        &self.table.name
    }

    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let Some((status, slot)) = row_change(event) else {
            return Ok(());
        };
        sqlx::query(sqlx::AssertSqlSafe(self.upsert.as_str()))
            .bind(event.stream_id.as_str())
            .bind(status)
            .bind(slot)
            .bind(i64::try_from(event.version)?)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.table.truncate(tx).await
    }
}

/// The same rows, written per batch: [`Projection::apply_batch`] folds the
/// batch into the final row of each booking, then writes them all with one
/// `UNNEST` upsert (one round trip per batch instead of one per event).
struct BatchedBookingList {
    table: BookingTable,
    upsert: String,
}

impl BatchedBookingList {
    fn new(store: &PostgresStore, name: &str) -> Self {
        let table = BookingTable::new(store, name);
        Self {
            upsert: format!(
                "INSERT INTO {table} AS b (id, status, parking_slot_ref_no, version) \
                 SELECT id, status, COALESCE(slot, ''), version \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) \
                      AS u(id, status, slot, version) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                    parking_slot_ref_no = COALESCE(NULLIF(excluded.parking_slot_ref_no, ''), \
                                                   b.parking_slot_ref_no), \
                    version = excluded.version",
                table = table.table
            ),
            table,
        }
    }
}

#[async_trait]
impl Projection<PostgresTransaction> for BatchedBookingList {
    fn name(&self) -> &str {
        &self.table.name
    }

    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        self.apply_batch(tx, std::slice::from_ref(event))
            .await
            .map_err(Into::into)
    }

    async fn apply_batch(
        &self,
        tx: &mut PostgresTransaction,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        // The last status and version of each booking in the batch; the slot
        // of its creation if the batch holds it.
        let mut rows: HashMap<&str, (&'static str, Option<&str>, u64)> = HashMap::new();
        for event in events {
            let Some((status, slot)) = row_change(event) else {
                continue;
            };
            rows.entry(event.stream_id.as_str())
                .and_modify(|row| {
                    row.0 = status;
                    row.1 = slot.or(row.1);
                    row.2 = event.version;
                })
                .or_insert((status, slot, event.version));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut statuses = Vec::with_capacity(rows.len());
        let mut slots = Vec::with_capacity(rows.len());
        let mut versions = Vec::with_capacity(rows.len());
        for (id, (status, slot, version)) in rows {
            ids.push(id);
            statuses.push(status);
            slots.push(slot);
            versions.push(i64::try_from(version).map_err(ProjectionError::backend)?);
        }
        sqlx::query(sqlx::AssertSqlSafe(self.upsert.as_str()))
            .bind(&ids)
            .bind(&statuses)
            .bind(&slots)
            .bind(&versions)
            .execute(&mut **tx)
            .await
            .map_err(ProjectionError::backend)?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.table.truncate(tx).await
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
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
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {}.bookings (id TEXT PRIMARY KEY, status TEXT NOT NULL, \
             parking_slot_ref_no TEXT NOT NULL, version BIGINT NOT NULL)",
            store.schema().quoted()
        )))
        .execute(store.pool())
        .await
        .expect("create the projection table");
        fill(&store).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ANALYZE {}.es_events",
            store.schema().quoted()
        )))
        .execute(store.pool())
        .await
        .expect("analyze");
    });
    eprintln!(
        "{GROUP} setup: {EVENTS} events appended in {:.1?}",
        started.elapsed()
    );

    let per_event = ProjectionRunner::new(
        store.clone(),
        checkpoints.clone(),
        BookingList::new(&store, "booking_list"),
    )
    .expect("a valid projection name")
    .with_batch_size(BATCH);
    let batched = ProjectionRunner::new(
        store.clone(),
        checkpoints,
        BatchedBookingList::new(&store, "booking_list_batched"),
    )
    .expect("a valid projection name")
    .with_batch_size(BATCH);

    let (mut per_event_s, mut batched_s, mut raw_s) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        // Warm-up and sanity check: a full rebuild, and one raw read.
        batched.rebuild().await.expect("rebuild");
        check_rows(&store).await;
        // The per-event projection takes seconds per run: timed once.
        per_event_s.push(time_from_zero(&store, &per_event).await);
        check_rows(&store).await;
        assert_eq!(raw_select(&store).await, EVENTS, "raw select reads the log");

        for round in 0..ROUNDS {
            batched_s.push(time_from_zero(&store, &batched).await);
            let started = Instant::now();
            let read = raw_select(&store).await;
            raw_s.push(started.elapsed().as_secs_f64());
            assert_eq!(read, EVENTS);
            eprintln!(
                "{GROUP} round {}: catch_up_batched {:.2} s, raw_select {:.3} s",
                round + 1,
                batched_s[round],
                raw_s[round]
            );
        }
    });
    runtime.block_on(pg_support::drop_schemas(&[&store]));

    let rate = |samples: &mut Vec<f64>| EVENTS as f64 / median(samples);
    let (ours, batched, raw) = (
        rate(&mut per_event_s),
        rate(&mut batched_s),
        rate(&mut raw_s),
    );
    let verdict = |rate: f64| {
        if rate >= GOAL_EVENTS_PER_SECOND {
            "met"
        } else {
            "MISSED"
        }
    };
    println!(
        "RATIO {GROUP}: catch_up {ours:.0}/s, raw_select {raw:.0}/s, ratio {:.2}x (one upsert per event, one timed run; the raw select only reads)",
        ours / raw
    );
    println!(
        "RATIO {GROUP}_batched: catch_up_batched {batched:.0}/s, raw_select {raw:.0}/s, ratio {:.2}x (apply_batch: one upsert per batch)",
        batched / raw
    );
    println!(
        "FIGURE {GROUP}: catch_up {ours:.0} events/s, one upsert per event, batches of {BATCH} (goal: >= {GOAL_EVENTS_PER_SECOND:.0} events/s: {})",
        verdict(ours)
    );
    println!(
        "FIGURE {GROUP}_batched: catch_up_batched {batched:.0} events/s, one upsert per batch of {BATCH} (goal: >= {GOAL_EVENTS_PER_SECOND:.0} events/s: {})",
        verdict(batched)
    );
}

/// Every booking has its row, with the slot of its creation and the status
/// of its last event.
async fn check_rows(store: &PostgresStore) {
    let (completed, created): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FILTER (WHERE status = 'completed' AND version = 3 \
                                   AND parking_slot_ref_no LIKE 'slot-%'), \
                count(*) FILTER (WHERE status = 'created' AND version = 1 \
                                   AND parking_slot_ref_no LIKE 'slot-%') \
         FROM {}.bookings",
        store.schema().quoted()
    )))
    .fetch_one(store.pool())
    .await
    .expect("check rows");
    assert_eq!(
        (completed as usize, created as usize),
        (EVENTS / 3, EVENTS % 3),
        "the projection's rows"
    );
}

/// Empties the projection and its checkpoint (outside the clock), then times
/// one catch-up from zero; returns seconds.
async fn time_from_zero<P>(
    store: &PostgresStore,
    runner: &ProjectionRunner<PostgresStore, PostgresCheckpoints, P>,
) -> f64
where
    P: Projection<PostgresTransaction>,
{
    let schema = store.schema().quoted();
    sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {schema}.bookings")))
        .execute(store.pool())
        .await
        .expect("truncate");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {schema}.es_checkpoints WHERE projection = $1"
    )))
    .bind(runner.projection().name())
    .execute(store.pool())
    .await
    .expect("delete checkpoint");
    assert_eq!(
        runner
            .checkpoints()
            .load_checkpoint(runner.projection().name())
            .await
            .expect("checkpoint"),
        es_core::Position::START
    );
    let started = Instant::now();
    runner.catch_up().await.expect("catch up");
    let elapsed = started.elapsed().as_secs_f64();
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.bookings"
    )))
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(rows as usize, EVENTS.div_ceil(3), "one row per booking");
    elapsed
}
