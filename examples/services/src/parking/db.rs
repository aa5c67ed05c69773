//! Parking's SQLite database: slots, which booking is for which slot, and the
//! booking events it skipped.
//!
//! `parking_bookings` exists because only `BookingCreated` names the slot:
//! Parking remembers it to route the booking's later events.

use es_core::RecordedEvent;
use sqlx::{Row, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::slot::{ParkingSlot, SlotStatus};

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS parking_slots (\
         uuid TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, \
         created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
    "CREATE TABLE IF NOT EXISTS parking_bookings (\
         booking_uuid TEXT PRIMARY KEY, slot_uuid TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS parking_skipped_events (\
         event_id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL, \
         event_type TEXT NOT NULL, reason TEXT NOT NULL)",
];

/// Creates Parking's tables if they do not exist.
pub async fn create_tables(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    for statement in SCHEMA {
        sqlx::query(statement).execute(pool).await?;
    }
    Ok(())
}

/// Stores a new slot.
pub async fn insert_slot(pool: &SqlitePool, slot: &ParkingSlot) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO parking_slots (uuid, name, status) VALUES (?1, ?2, ?3)")
        .bind(slot.uuid.to_string())
        .bind(&slot.name)
        .bind(slot.status.as_str())
        .execute(pool)
        .await
        .map(|_| ())
}

/// The slot `uuid`, if it exists.
pub async fn slot(
    conn: &mut SqliteConnection,
    uuid: Uuid,
) -> Result<Option<ParkingSlot>, sqlx::Error> {
    sqlx::query("SELECT uuid, name, status FROM parking_slots WHERE uuid = ?1")
        .bind(uuid.to_string())
        .fetch_optional(conn)
        .await?
        .map(|row| slot_row(&row))
        .transpose()
}

/// Every slot, oldest first.
pub async fn slots(pool: &SqlitePool) -> Result<Vec<ParkingSlot>, sqlx::Error> {
    sqlx::query("SELECT uuid, name, status FROM parking_slots ORDER BY created_at, rowid")
        .fetch_all(pool)
        .await?
        .iter()
        .map(slot_row)
        .collect()
}

/// Sets a slot's status.
pub async fn set_status(
    conn: &mut SqliteConnection,
    uuid: Uuid,
    status: SlotStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE parking_slots SET status = ?1 WHERE uuid = ?2")
        .bind(status.as_str())
        .bind(uuid.to_string())
        .execute(conn)
        .await
        .map(|_| ())
}

/// Remembers that `booking` is for `slot`.
pub async fn remember_booking(
    conn: &mut SqliteConnection,
    booking: Uuid,
    slot: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO parking_bookings (booking_uuid, slot_uuid) VALUES (?1, ?2) \
         ON CONFLICT (booking_uuid) DO NOTHING",
    )
    .bind(booking.to_string())
    .bind(slot.to_string())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The slot `booking` is for, if Parking saw its creation.
pub async fn slot_of_booking(
    conn: &mut SqliteConnection,
    booking: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let slot: Option<String> =
        sqlx::query_scalar("SELECT slot_uuid FROM parking_bookings WHERE booking_uuid = ?1")
            .bind(booking.to_string())
            .fetch_optional(conn)
            .await?;
    slot.map(|s| Uuid::parse_str(&s).map_err(|e| decode_error("slot_uuid", e)))
        .transpose()
}

/// Records a booking event Parking could not apply, and why.
pub async fn record_skipped(
    conn: &mut SqliteConnection,
    event: &RecordedEvent,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO parking_skipped_events (event_id, stream_id, version, event_type, reason) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id.to_string())
    .bind(event.stream_id.as_str())
    .bind(i64::try_from(event.version).unwrap_or(i64::MAX))
    .bind(&event.event_type)
    .bind(reason)
    .execute(conn)
    .await
    .map(|_| ())
}

fn slot_row(row: &sqlx::sqlite::SqliteRow) -> Result<ParkingSlot, sqlx::Error> {
    let uuid: String = row.try_get("uuid")?;
    let status: String = row.try_get("status")?;
    Ok(ParkingSlot {
        uuid: Uuid::parse_str(&uuid).map_err(|e| decode_error("uuid", e))?,
        name: row.try_get("name")?,
        status: status.parse().map_err(|e| decode_error("status", e))?,
    })
}

fn decode_error(
    column: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    }
}
