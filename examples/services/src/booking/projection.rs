//! The booking projection: one row per booking in the projector database.
//!
//! `id` is the row's own number, `domain_uuid` the aggregate id, and
//! `status` / `parking_slot_ref_no` the booking's latest state. The
//! [`ProjectionRunner`](es_core::ProjectionRunner) applies each batch of
//! events and commits the rows together with the projection's checkpoint, so
//! every event lands exactly once even if several runners (a CLI, the
//! `serve` projector) work at the same time.

use es_core::{async_trait, BoxError, Projection, RecordedEvent};
use es_postgres::PostgresTransaction;
use es_sqlite::SqliteTransaction;

use crate::common::booking_event::BookingEvent;

/// The name of the projection: the key of its checkpoint.
pub const BOOKING_PROJECTION: &str = "bookings";

/// Writes the `bookings` table from booking events.
#[derive(Debug, Clone, Copy, Default)]
pub struct BookingProjection;

const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS bookings (\
     id INTEGER PRIMARY KEY AUTOINCREMENT, \
     domain_uuid TEXT NOT NULL UNIQUE, \
     status TEXT NOT NULL, \
     parking_slot_ref_no TEXT NOT NULL)";

const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS bookings (\
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
     domain_uuid UUID NOT NULL UNIQUE, \
     status TEXT NOT NULL, \
     parking_slot_ref_no TEXT NOT NULL)";

impl BookingProjection {
    /// Creates the `bookings` table in a SQLite projector database.
    pub async fn create_sqlite_table(pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
        sqlx::query(SQLITE_SCHEMA).execute(pool).await.map(|_| ())
    }

    /// Creates the `bookings` table in a PostgreSQL projector database.
    pub async fn create_postgres_table(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
        // Two processes starting at once would race on CREATE TABLE IF NOT
        // EXISTS; an advisory lock makes them take turns.
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('es-example bookings table'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(POSTGRES_SCHEMA).execute(&mut *tx).await?;
        tx.commit().await
    }
}

/// The booking event in `event`, or `None` for other aggregates' events and
/// for a booking event that does not decode (an unknown type, a payload of
/// another shape): that one is logged as an error and skipped, because it
/// would fail on every retry and must not stop the bookings behind it.
fn readable(event: &RecordedEvent) -> Option<(uuid::Uuid, BookingEvent)> {
    match BookingEvent::from_recorded(event) {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::error!(
                stream_id = %event.stream_id,
                version = event.version,
                event_type = %event.event_type,
                %error,
                "the booking projection skips an event it cannot read"
            );
            None
        }
    }
}

#[async_trait]
impl Projection<SqliteTransaction> for BookingProjection {
    fn name(&self) -> &str {
        BOOKING_PROJECTION
    }

    async fn apply(
        &self,
        tx: &mut SqliteTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let Some((booking, event)) = readable(event) else {
            return Ok(());
        };
        match event {
            BookingEvent::BookingCreated {
                parking_slot_ref_no,
            } => {
                sqlx::query(
                    "INSERT INTO bookings (domain_uuid, status, parking_slot_ref_no) \
                     VALUES (?1, ?2, ?3) ON CONFLICT (domain_uuid) DO NOTHING",
                )
                .bind(booking.to_string())
                .bind(event.status().as_str())
                .bind(parking_slot_ref_no.to_string())
                .execute(&mut **tx)
                .await?;
            }
            BookingEvent::BookingReserved | BookingEvent::BookingCompleted => {
                sqlx::query("UPDATE bookings SET status = ?1 WHERE domain_uuid = ?2")
                    .bind(event.status().as_str())
                    .bind(booking.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut SqliteTransaction) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM bookings")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Projection<PostgresTransaction> for BookingProjection {
    fn name(&self) -> &str {
        BOOKING_PROJECTION
    }

    async fn apply(
        &self,
        tx: &mut PostgresTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let Some((booking, event)) = readable(event) else {
            return Ok(());
        };
        match event {
            BookingEvent::BookingCreated {
                parking_slot_ref_no,
            } => {
                sqlx::query(
                    "INSERT INTO bookings (domain_uuid, status, parking_slot_ref_no) \
                     VALUES ($1, $2, $3) ON CONFLICT (domain_uuid) DO NOTHING",
                )
                .bind(booking)
                .bind(event.status().as_str())
                .bind(parking_slot_ref_no.to_string())
                .execute(&mut **tx)
                .await?;
            }
            BookingEvent::BookingReserved | BookingEvent::BookingCompleted => {
                sqlx::query("UPDATE bookings SET status = $1 WHERE domain_uuid = $2")
                    .bind(event.status().as_str())
                    .bind(booking)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PostgresTransaction) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM bookings")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
