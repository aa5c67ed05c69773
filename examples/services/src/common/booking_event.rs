//! The events Booking records and Parking follows: the contract between the
//! two services.
//!
//! Booking writes these to its event store; Parking reads them from Booking's
//! log (embedded mode) or from RabbitMQ (server mode). Both sides use this
//! one type, so they cannot disagree on names or payloads. Each variant's name
//! is its stored event type, and each event carries only what it changed: the
//! slot on `BookingCreated`, nothing else on the status changes.

use std::fmt;

use es_core::{DomainEvent, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The aggregate type of bookings: their streams are `booking-<uuid>`.
pub const BOOKING_CATEGORY: &str = "booking";

/// Something that happened to a booking.
// The variant names are the stored event types, the seed's names.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookingEvent {
    /// A booking was requested for a parking slot.
    BookingCreated {
        /// The parking slot's uuid in the Parking service.
        parking_slot_ref_no: Uuid,
    },
    /// The booking was reserved.
    BookingReserved,
    /// The booking was completed.
    BookingCompleted,
}

impl DomainEvent for BookingEvent {
    fn event_type(&self) -> &'static str {
        match self {
            BookingEvent::BookingCreated { .. } => "BookingCreated",
            BookingEvent::BookingReserved => "BookingReserved",
            BookingEvent::BookingCompleted => "BookingCompleted",
        }
    }
}

impl BookingEvent {
    /// The status a booking has after this event.
    pub fn status(&self) -> BookingStatus {
        match self {
            BookingEvent::BookingCreated { .. } => BookingStatus::Created,
            BookingEvent::BookingReserved => BookingStatus::Reserved,
            BookingEvent::BookingCompleted => BookingStatus::Completed,
        }
    }

    /// Reads a booking event out of any recorded event: `None` for events of
    /// other aggregates, an error for a booking event that does not decode.
    pub fn from_recorded(
        event: &RecordedEvent,
    ) -> Result<Option<(Uuid, BookingEvent)>, BookingEventError> {
        if event.stream_id.category() != BOOKING_CATEGORY {
            return Ok(None);
        }
        let id = event.stream_id.aggregate_id().unwrap_or_default();
        let booking = Uuid::parse_str(id).map_err(|_| BookingEventError::StreamId {
            stream_id: event.stream_id.to_string(),
        })?;
        let decoded = event.decode::<BookingEvent>()?;
        Ok(Some((booking, decoded)))
    }
}

/// A recorded booking event that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BookingEventError {
    /// The stream id does not end in a booking uuid.
    #[error("stream {stream_id} is not named booking-<uuid>")]
    StreamId {
        /// The offending stream.
        stream_id: String,
    },
    /// The payload does not decode.
    #[error(transparent)]
    Decode(#[from] es_core::DecodeError),
}

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    /// Requested, waiting for a reservation.
    Created,
    /// Reserved, waiting to be completed.
    Reserved,
    /// Done.
    Completed,
}

impl BookingStatus {
    /// The name stored in read models and printed by the CLIs.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Created => "created",
            BookingStatus::Reserved => "reserved",
            BookingStatus::Completed => "completed",
        }
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
