//! Exactly-once accounting for the server-mode fault tests: a plan of
//! bookings written straight into Booking's event store, triggers that count every committed
//! application of an event in the projector database (PostgreSQL) and in
//! Parking's database (SQLite), and the check that both ends hold exactly
//! the plan's outcome with every event applied once.
//!
//! The counting triggers log each committed write the handlers make, so an
//! event applied twice (a batch replayed after a crash, a redelivery that
//! slipped past the idempotency record) shows up as a second log row even
//! when the second write changed nothing visible.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use es_postgres::PostgresStore;
use sqlx::Connection;
use uuid::Uuid;

use super::{
    booking_plan::{event_count, plan, runtime, PlannedBooking},
    server::{free_port, ServerEnv},
};

/// Creates the projector's `bookings` table (the service's own schema) with
/// a trigger logging every row written into `torture_applied`.
pub async fn count_projector_writes(env: &ServerEnv) {
    let mut conn = sqlx::PgConnection::connect(&env.projector_url)
        .await
        .expect("projector database");
    for statement in [
        "CREATE TABLE IF NOT EXISTS bookings (\
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         domain_uuid UUID NOT NULL UNIQUE, \
         status TEXT NOT NULL, \
         parking_slot_ref_no TEXT NOT NULL)",
        // `seq`: the order of the writes; `at_ms`: when (Unix milliseconds).
        "CREATE TABLE torture_applied (domain_uuid UUID NOT NULL, status TEXT NOT NULL, \
         seq BIGINT GENERATED ALWAYS AS IDENTITY, \
         at_ms BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
        "CREATE FUNCTION torture_log() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO torture_applied (domain_uuid, status) VALUES (NEW.domain_uuid, NEW.status); \
         RETURN NEW; END $$",
        // BEFORE: fires for an INSERT that ON CONFLICT DO NOTHING then drops,
        // so a replayed creation is counted too.
        "CREATE TRIGGER torture_count BEFORE INSERT OR UPDATE ON bookings \
         FOR EACH ROW EXECUTE FUNCTION torture_log()",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("prepare the projector database");
    }
}

/// Parking's database, opened by the test.
pub async fn parking_pool(env: &ServerEnv) -> sqlx::SqlitePool {
    let options: sqlx::sqlite::SqliteConnectOptions =
        env.parking_url.parse().expect("Parking's SQLite URL");
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.busy_timeout(Duration::from_secs(30)))
        .await
        .expect("Parking's database")
}

/// Inserts the plan's slots (available) into Parking's database, which a
/// first `parking serve` has created, and a trigger logging every event the
/// consumer records as processed into `torture_applied`.
pub async fn prepare_parking(env: &ServerEnv, plan: &[PlannedBooking]) {
    let pool = parking_pool(env).await;
    let mut tx = pool.begin().await.expect("begin");
    for (n, booking) in plan.iter().enumerate() {
        sqlx::query("INSERT INTO parking_slots (uuid, name, status) VALUES (?1, ?2, 'available')")
            .bind(booking.slot.to_string())
            .bind(format!("Slot {n}"))
            .execute(&mut *tx)
            .await
            .expect("insert a slot");
    }
    for statement in [
        // rowid: the order of the writes; `at_ms`: when (Unix milliseconds).
        "CREATE TABLE torture_applied (event_id TEXT NOT NULL, kind TEXT NOT NULL, \
         at_ms INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))",
        "CREATE TRIGGER torture_count_processed AFTER INSERT ON es_amqp_processed \
         BEGIN INSERT INTO torture_applied (event_id, kind) VALUES (NEW.event_id, 'processed'); END",
        // Every slot change and every remembered booking, whatever recorded it.
        "CREATE TRIGGER torture_count_slot AFTER UPDATE OF status ON parking_slots \
         BEGIN INSERT INTO torture_applied (event_id, kind) VALUES (NEW.uuid, NEW.status); END",
        "CREATE TRIGGER torture_count_booking BEFORE INSERT ON parking_bookings \
         BEGIN INSERT INTO torture_applied (event_id, kind) VALUES (NEW.booking_uuid, 'booking'); END",
    ] {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .expect("prepare Parking's database");
    }
    tx.commit().await.expect("commit");
    pool.close().await;
}

/// What one end holds: applied events and how many of them were duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Committed applications (log rows).
    pub applied: u64,
    /// Applications beyond the first of the same event.
    pub duplicates: u64,
    /// Planned events never applied.
    pub lost: u64,
    /// Events applied after a later event of the same stream.
    pub out_of_order: u64,
}

/// How many applications, given in the order they were written as
/// `(stream, step)`, came after a later step of the same stream (a repeat of
/// the same step is a duplicate, counted elsewhere).
fn out_of_order<K: std::hash::Hash + Eq>(applied: impl IntoIterator<Item = (K, u64)>) -> u64 {
    let mut latest: HashMap<K, u64> = HashMap::new();
    let mut late = 0;
    for (stream, step) in applied {
        let seen = latest.entry(stream).or_insert(0);
        late += u64::from(step < *seen);
        *seen = (*seen).max(step);
    }
    late
}

/// The step of a projector status (1: created, 2: reserved, 3: completed).
fn status_step(status: &str) -> u64 {
    match status {
        "created" => 1,
        "reserved" => 2,
        _ => 3,
    }
}

/// The projector's tally: one logged write per event expected
/// (`(booking, status)` is unique per event in the plan).
pub async fn projector_tally(env: &ServerEnv, plan: &[PlannedBooking]) -> Tally {
    let mut conn = sqlx::PgConnection::connect(&env.projector_url)
        .await
        .expect("projector database");
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT domain_uuid, status FROM torture_applied ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .expect("read the log");
    let mut seen: HashMap<(Uuid, String), u64> = HashMap::new();
    for row in &rows {
        *seen.entry(row.clone()).or_insert(0) += 1;
    }
    let mut tally = Tally {
        out_of_order: out_of_order(rows.iter().map(|(id, status)| (*id, status_step(status)))),
        ..Tally::default()
    };
    for booking in plan {
        for event in booking.events() {
            let n = seen
                .get(&(booking.id, event.status().as_str().to_owned()))
                .copied()
                .unwrap_or(0);
            tally.applied += n;
            tally.duplicates += n.saturating_sub(1);
            tally.lost += u64::from(n == 0);
        }
    }
    tally
}

/// Parking's tally: events recorded as processed (each once), slot changes
/// and remembered bookings (a created event applied twice would remember
/// its booking twice; a reservation applied twice after a creation replay
/// would move the slot twice).
pub async fn parking_tally(env: &ServerEnv, plan: &[PlannedBooking]) -> Tally {
    let pool = parking_pool(env).await;
    let processed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id, COUNT(*) FROM torture_applied WHERE kind = 'processed' GROUP BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("read the log");
    let in_order: Vec<String> = sqlx::query_scalar(
        "SELECT event_id FROM torture_applied WHERE kind = 'processed' ORDER BY rowid",
    )
    .fetch_all(&pool)
    .await
    .expect("read the log");
    let bookings: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id, COUNT(*) FROM torture_applied WHERE kind = 'booking' GROUP BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("read the log");
    let slot_changes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM torture_applied WHERE kind NOT IN ('processed', 'booking')",
    )
    .fetch_one(&pool)
    .await
    .expect("read the log");
    pool.close().await;
    let expected = event_count(plan);
    let applied = processed.iter().map(|(_, n)| *n as u64).sum::<u64>();
    let mut duplicates = processed
        .iter()
        .map(|(_, n)| (*n as u64).saturating_sub(1))
        .sum::<u64>();
    duplicates += bookings
        .iter()
        .map(|(_, n)| (*n as u64).saturating_sub(1))
        .sum::<u64>();
    // One change to blocked per booking, one to reserved per reservation.
    let expected_changes = plan.iter().map(|b| b.steps.min(2)).sum::<u64>();
    duplicates += (slot_changes as u64).saturating_sub(expected_changes);
    let steps = plan_steps(plan);
    Tally {
        applied,
        duplicates,
        lost: expected.saturating_sub(processed.len() as u64),
        out_of_order: out_of_order(
            in_order
                .iter()
                .filter_map(|id| steps.get(id.as_str()).map(|(b, step)| (b.id, *step))),
        ),
    }
}

/// Every planned event id (as Parking stores it) with its booking and step.
fn plan_steps(plan: &[PlannedBooking]) -> HashMap<String, (&PlannedBooking, u64)> {
    plan.iter()
        .flat_map(|b| (1..=b.steps).map(move |step| (b.event_id(step).to_string(), (b, step))))
        .collect()
}

/// Wrong rows in the projector and in Parking, as readable lines.
pub async fn wrong_rows(env: &ServerEnv, plan: &[PlannedBooking]) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut conn = sqlx::PgConnection::connect(&env.projector_url)
        .await
        .expect("projector database");
    let rows: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT domain_uuid, status, parking_slot_ref_no FROM bookings")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    let projected: HashMap<Uuid, (String, String)> = rows
        .into_iter()
        .map(|(id, s, slot)| (id, (s, slot)))
        .collect();
    let pool = parking_pool(env).await;
    let slots: Vec<(String, String)> = sqlx::query_as("SELECT uuid, status FROM parking_slots")
        .fetch_all(&pool)
        .await
        .expect("read slots");
    pool.close().await;
    let slots: HashMap<String, String> = slots.into_iter().collect();
    if projected.len() != plan.len() {
        wrong.push(format!(
            "{} booking rows, expected {}",
            projected.len(),
            plan.len()
        ));
    }
    for booking in plan {
        match projected.get(&booking.id) {
            Some((status, slot))
                if status == booking.final_status() && *slot == booking.slot.to_string() => {}
            other => wrong.push(format!("booking {}: {other:?}", booking.id)),
        }
        let slot = slots.get(&booking.slot.to_string());
        if slot.map(String::as_str) != Some(booking.final_slot_status()) {
            wrong.push(format!(
                "slot {}: {slot:?}, expected {}",
                booking.slot,
                booking.final_slot_status()
            ));
        }
    }
    wrong
}

/// Waits (up to `patience`) until every row is right and both ends applied
/// every event, then returns both tallies.
pub async fn converge(
    env: &ServerEnv,
    plan: &[PlannedBooking],
    patience: Duration,
) -> (Tally, Tally) {
    let deadline = Instant::now() + patience;
    loop {
        let wrong = wrong_rows(env, plan).await;
        let projector = projector_tally(env, plan).await;
        let parking = parking_tally(env, plan).await;
        if wrong.is_empty() && projector.lost == 0 && parking.lost == 0 {
            return (projector, parking);
        }
        assert!(
            Instant::now() < deadline,
            "did not converge: projector {projector:?}, parking {parking:?}, {} wrong rows, first: {:?}",
            wrong.len(),
            wrong.iter().take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Connects the test's own event store client (the services' schema).
pub async fn event_store(env: &ServerEnv) -> PostgresStore {
    let store = PostgresStore::connect(&env.event_store_url)
        .await
        .expect("event store");
    store.migrate().await.expect("migrate");
    store
}

/// Prints one line of the report table.
pub fn report(scenario: &str, sent: u64, end: &str, tally: Tally) {
    eprintln!(
        "TORTURE | {scenario} | {end} | sent {sent} | applied {} | duplicates {} | lost {} | out of order {}",
        tally.applied, tally.duplicates, tally.lost, tally.out_of_order
    );
}

/// Where a server-mode fault test starts: Parking's tables and queue
/// declared by a first `parking serve`, the plan's slots in place, the
/// counting triggers installed on both ends, and the test's own client.
pub struct Prepared {
    /// The runtime of the test's own database work.
    pub rt: tokio::runtime::Runtime,
    /// The bookings to send.
    pub plan: Vec<PlannedBooking>,
    /// The test's own event store client.
    pub store: PostgresStore,
}

/// Prepares `env` for a plan of `bookings` (no service left running).
pub fn prepare(env: &ServerEnv, bookings: usize) -> Prepared {
    let rt = runtime();
    env.serve("parking", free_port()).kill();
    let plan = plan(bookings);
    rt.block_on(async {
        prepare_parking(env, &plan).await;
        count_projector_writes(env).await;
    });
    let store = rt.block_on(event_store(env));
    Prepared { rt, plan, store }
}

impl Prepared {
    /// Waits (up to `patience`) until both ends hold the plan's outcome,
    /// reports their tallies under `scenario`, and asserts that each applied
    /// every event exactly once; returns the tallies (projector, Parking).
    #[track_caller]
    pub fn assert_exactly_once(
        &self,
        env: &ServerEnv,
        scenario: &str,
        patience: Duration,
    ) -> (Tally, Tally) {
        let sent = event_count(&self.plan);
        let (projector, parking) = self.rt.block_on(converge(env, &self.plan, patience));
        report(scenario, sent, "projector", projector);
        report(scenario, sent, "parking", parking);
        assert_eq!(projector.applied, sent, "{projector:?}");
        assert_eq!(projector.duplicates, 0, "{projector:?}");
        assert_eq!(parking.applied, sent, "{parking:?}");
        assert_eq!(parking.duplicates, 0, "{parking:?}");
        assert_eq!(projector.out_of_order, 0, "{projector:?}");
        assert_eq!(parking.out_of_order, 0, "{parking:?}");
        (projector, parking)
    }
}

/// Unix milliseconds now: the clock both applied logs stamp `at_ms` with.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// When (Unix ms) the projector first wrote after `since_ms`, if it did.
pub async fn projector_first_write_after(env: &ServerEnv, since_ms: i64) -> Option<i64> {
    let mut conn = sqlx::PgConnection::connect(&env.projector_url)
        .await
        .expect("projector database");
    sqlx::query_scalar("SELECT MIN(at_ms) FROM torture_applied WHERE at_ms > $1")
        .bind(since_ms)
        .fetch_one(&mut conn)
        .await
        .expect("read the log")
}

/// When (Unix ms) Parking first recorded as processed, after `since_ms`, an
/// event of a booking whose stream `on` accepts, if it did.
pub async fn parking_first_processed_after(
    env: &ServerEnv,
    plan: &[PlannedBooking],
    since_ms: i64,
    on: impl Fn(&es_core::StreamId) -> bool,
) -> Option<i64> {
    let pool = parking_pool(env).await;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id, at_ms FROM torture_applied \
         WHERE kind = 'processed' AND at_ms > ?1 ORDER BY at_ms",
    )
    .bind(since_ms)
    .fetch_all(&pool)
    .await
    .expect("read the log");
    pool.close().await;
    let steps = plan_steps(plan);
    rows.into_iter()
        .find(|(id, _)| steps.get(id).is_some_and(|(b, _)| on(&b.stream())))
        .map(|(_, at)| at)
}
