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
//!
//! An event Parking cannot apply *yet* is another matter. A booking's events
//! build on each other (only `BookingCreated` names the slot, a reservation
//! follows a creation), so the consumer applies each booking's events in
//! version order: one that arrives before its predecessor was applied (a
//! dead letter moved back after the events that followed it) is refused with
//! [`NotYet`] — rolled back, not recorded, not skipped — and the consumer
//! retries it, then parks it in the dead-letter queue until it is moved back
//! after the event it waits for. Skipping it instead would record it as
//! processed, and its later delivery would be dropped as a duplicate.

use es_amqp::{NotYet, TransactionalHandler};
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
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        NotYet::check_next(event, previous_version)?;
        if let Some(previous) = previous_version.filter(|&previous| event.version <= previous) {
            // Another event with a version already applied: applying it
            // would move the slot back.
            let reason = format!(
                "version {} is behind version {previous}, already applied",
                event.version
            );
            return skip(tx, event, &reason).await;
        }
        Self::apply_event(tx, event).await
    }
}

#[cfg(test)]
mod tests {
    use es_amqp::{Handler, IdempotentHandler, NotYet, SqliteIdempotencyStore};
    use es_core::{EventStore, ExpectedVersion, InMemoryStore, NewEvent, StreamId};
    use futures::TryStreamExt;
    use uuid::Uuid;

    use super::*;
    use crate::parking::slot::{ParkingSlot, SlotStatus};

    /// A booking's two events (created, reserved) on `slot`, as recorded.
    async fn booking(slot: Uuid) -> Vec<RecordedEvent> {
        let store = InMemoryStore::new();
        let stream = StreamId::new(format!("booking-{}", Uuid::new_v4())).expect("stream id");
        let events = [
            BookingEvent::BookingCreated {
                parking_slot_ref_no: slot,
            },
            BookingEvent::BookingReserved,
        ]
        .iter()
        .map(|event| NewEvent::from_domain(event).expect("encode"))
        .collect();
        store
            .append(&stream, ExpectedVersion::NoStream, events)
            .await
            .expect("append");
        store
            .read_stream(&stream, 1)
            .try_collect()
            .await
            .expect("read")
    }

    async fn status(pool: &sqlx::SqlitePool, slot: Uuid) -> SlotStatus {
        let mut conn = pool.acquire().await.expect("connection");
        db::slot(&mut conn, slot)
            .await
            .expect("read the slot")
            .expect("the slot")
            .status
    }

    #[tokio::test]
    async fn a_booking_event_before_its_predecessor_waits_and_an_older_one_is_skipped() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("SQLite");
        db::create_tables(&pool).await.expect("tables");
        let processed = SqliteIdempotencyStore::new(pool.clone());
        processed.migrate().await.expect("inbox tables");
        let slot = Uuid::new_v4();
        db::insert_slot(
            &pool,
            &ParkingSlot {
                uuid: slot,
                name: "Slot 1".into(),
                status: SlotStatus::Available,
            },
        )
        .await
        .expect("slot");
        let handler = IdempotentHandler::new(BOOKING_FOLLOWER, processed.clone(), BookingFollower)
            .expect("a valid consumer name");
        let events = booking(slot).await;
        let (created, reserved) = (&events[0], &events[1]);

        // The reservation first: refused, nothing recorded or skipped.
        let error = handler.handle(reserved).await.expect_err("not yet");
        let not_yet = NotYet::find(&*error).expect("a NotYet");
        assert_eq!((not_yet.version, not_yet.waiting_for), (2, 1));
        assert_eq!(
            processed
                .processed_count(BOOKING_FOLLOWER)
                .await
                .expect("count"),
            0
        );
        assert_eq!(status(&pool, slot).await, SlotStatus::Available);

        handler.handle(created).await.expect("created");
        assert_eq!(status(&pool, slot).await, SlotStatus::Blocked);
        handler.handle(reserved).await.expect("reserved");
        assert_eq!(status(&pool, slot).await, SlotStatus::Reserved);

        // Another creation at version 1 (a new id): it would move the slot
        // back, so it is skipped with the reason.
        let mut older = created.clone();
        older.event_id = Uuid::now_v7();
        handler.handle(&older).await.expect("skipped");
        assert_eq!(status(&pool, slot).await, SlotStatus::Reserved);
        let skipped: Vec<String> = sqlx::query_scalar("SELECT reason FROM parking_skipped_events")
            .fetch_all(&pool)
            .await
            .expect("skipped");
        assert_eq!(
            skipped,
            vec!["version 1 is behind version 2, already applied".to_owned()]
        );
    }
}
