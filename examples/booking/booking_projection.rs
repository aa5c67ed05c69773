//! The booking projection: one row per booking in the projector database.
//!
//! `id` is the row's own number, `domain_uuid` the aggregate id, and
//! `status` / `parking_slot_ref_no` the booking's latest state. The
//! [`ProjectionRunner`](es_core::ProjectionRunner) applies each batch of
//! events and commits the rows together with the projection's checkpoint, so
//! every event lands exactly once even if several runners (a CLI, the
//! `serve` projector) work at the same time.

use es_core::{async_trait, BoxError, Projection, RecordedEvent};
use es_sqlite::{sqlx, SqliteTransaction};

use super::booking_event::BookingEvent;

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

impl BookingProjection {
    /// Creates the `bookings` table in a SQLite projector database.
    pub async fn create_sqlite_table(pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
        sqlx::query(SQLITE_SCHEMA).execute(pool).await.map(|_| ())
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
        let Some((booking, event)) = BookingEvent::from_recorded(event)? else {
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
