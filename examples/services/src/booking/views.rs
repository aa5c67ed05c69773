//! Queries on the booking projection: `get_booking_details` and `get_booking_list`.

use sqlx::Row;
use uuid::Uuid;

/// One booking as the projection holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRow {
    /// The row's number in the projector database.
    pub id: i64,
    /// The booking's aggregate id.
    pub domain_uuid: Uuid,
    /// `created`, `reserved` or `completed`.
    pub status: String,
    /// The parking slot the booking is for.
    pub parking_slot_ref_no: String,
}

/// The projector database, for reading.
#[derive(Debug, Clone)]
pub enum BookingViews {
    /// Embedded mode.
    Sqlite(sqlx::SqlitePool),
    /// Server mode.
    Postgres(sqlx::PgPool),
}

impl BookingViews {
    /// The booking `id`, if the projection has it.
    pub async fn details(&self, id: Uuid) -> Result<Option<BookingRow>, sqlx::Error> {
        match self {
            BookingViews::Sqlite(pool) => sqlx::query(
                "SELECT id, domain_uuid, status, parking_slot_ref_no FROM bookings \
                 WHERE domain_uuid = ?1",
            )
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
            .map(|row| sqlite_row(&row))
            .transpose(),
            BookingViews::Postgres(pool) => sqlx::query(
                "SELECT id, domain_uuid, status, parking_slot_ref_no FROM bookings \
                 WHERE domain_uuid = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(|row| postgres_row(&row))
            .transpose(),
        }
    }

    /// Every booking, oldest first.
    pub async fn list(&self) -> Result<Vec<BookingRow>, sqlx::Error> {
        match self {
            BookingViews::Sqlite(pool) => sqlx::query(
                "SELECT id, domain_uuid, status, parking_slot_ref_no FROM bookings ORDER BY id",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(sqlite_row)
            .collect(),
            BookingViews::Postgres(pool) => sqlx::query(
                "SELECT id, domain_uuid, status, parking_slot_ref_no FROM bookings ORDER BY id",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(postgres_row)
            .collect(),
        }
    }
}

fn sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Result<BookingRow, sqlx::Error> {
    let domain_uuid: String = row.try_get("domain_uuid")?;
    Ok(BookingRow {
        id: row.try_get("id")?,
        domain_uuid: Uuid::parse_str(&domain_uuid).map_err(|e| sqlx::Error::ColumnDecode {
            index: "domain_uuid".to_owned(),
            source: Box::new(e),
        })?,
        status: row.try_get("status")?,
        parking_slot_ref_no: row.try_get("parking_slot_ref_no")?,
    })
}

fn postgres_row(row: &sqlx::postgres::PgRow) -> Result<BookingRow, sqlx::Error> {
    Ok(BookingRow {
        id: row.try_get("id")?,
        domain_uuid: row.try_get("domain_uuid")?,
        status: row.try_get("status")?,
        parking_slot_ref_no: row.try_get("parking_slot_ref_no")?,
    })
}
