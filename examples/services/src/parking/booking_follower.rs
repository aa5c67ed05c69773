//! Parking's reaction to Booking's events, applied in Parking's own
//! transaction.
//!
//! Embedded mode runs it as a projection of Booking's event log (its
//! checkpoint lives in Parking's database); server mode runs it as the
//! handler of the RabbitMQ consumer (the consumer records each event id in
//! the same transaction). Either way a slot's status and the record that the
//! event was handled commit together.
//!
//! An event Parking cannot apply (a slot it does not know, a booking whose
//! creation it never saw, a payload that does not decode) is recorded in
//! `parking_skipped_events` with the reason and skipped: retrying it would
//! never succeed, and it must not stop the events behind it.

use es_amqp::TransactionalHandler;
use es_core::{async_trait, BoxError, Projection, RecordedEvent};
use es_sqlite::SqliteTransaction;
use sqlx::SqliteConnection;

use super::db;
use crate::common::booking_event::BookingEvent;

/// The name of Parking's checkpoint in Booking's log (embedded mode) and of
/// its consumer (server mode).
pub const BOOKING_FOLLOWER: &str = "parking-bookings";

/// Moves slot statuses as bookings are created and reserved.
#[derive(Debug, Clone, Copy, Default)]
pub struct BookingFollower;

impl BookingFollower {
    /// Applies one recorded event inside `conn`'s transaction.
    pub async fn apply_event(
        conn: &mut SqliteConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let (booking, booking_event) = match BookingEvent::from_recorded(event) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return Ok(()),
            Err(error) => return skip(conn, event, &error.to_string()).await,
        };
        let slot = match &booking_event {
            BookingEvent::BookingCreated {
                parking_slot_ref_no,
            } => {
                db::remember_booking(conn, booking, *parking_slot_ref_no).await?;
                *parking_slot_ref_no
            }
            _ => match db::slot_of_booking(conn, booking).await? {
                Some(slot) => slot,
                None => {
                    let reason = format!("Parking never saw booking {booking} being created");
                    return skip(conn, event, &reason).await;
                }
            },
        };
        let Some(current) = db::slot(conn, slot).await? else {
            return skip(conn, event, &format!("no parking slot {slot}")).await;
        };
        let next = current.status.after(&booking_event);
        if next != current.status {
            db::set_status(conn, slot, next).await?;
        }
        Ok(())
    }
}

async fn skip(
    conn: &mut SqliteConnection,
    event: &RecordedEvent,
    reason: &str,
) -> Result<(), BoxError> {
    tracing::warn!(
        stream_id = %event.stream_id,
        version = event.version,
        event_type = %event.event_type,
        "skipping a booking event: {reason}"
    );
    db::record_skipped(conn, event, reason).await?;
    Ok(())
}

#[async_trait]
impl Projection<SqliteTransaction> for BookingFollower {
    fn name(&self) -> &str {
        BOOKING_FOLLOWER
    }

    async fn apply(
        &self,
        tx: &mut SqliteTransaction,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        Self::apply_event(tx, event).await
    }
}

#[async_trait]
impl TransactionalHandler<SqliteTransaction> for BookingFollower {
    async fn apply(
        &self,
        tx: &mut SqliteTransaction,
        event: &RecordedEvent,
        _previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        // Booking's relay publishes each stream in order and the consumer
        // keeps that order, so the previous version needs no check here.
        Self::apply_event(tx, event).await
    }
}
