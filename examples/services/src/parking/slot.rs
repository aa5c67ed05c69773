//! A parking slot, and how booking events move its status.
//!
//! Parking is not event sourced (as in the seed, it keeps plain rows); it
//! reacts to Booking's events: a created booking blocks the slot (Booking
//! lets a slot hold one booking at a time, so a new request for a reserved
//! slot means its booking was completed), a reservation reserves it, and a
//! completion leaves it as it is (a completed booking's slot shows
//! `reserved` until the next request blocks it).

use std::{fmt, str::FromStr};

use uuid::Uuid;

use crate::common::booking_event::BookingEvent;

/// Whether a slot can be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SlotStatus {
    /// Free.
    Available,
    /// Someone asked for it; the booking is pending.
    Blocked,
    /// Taken.
    Reserved,
}

impl SlotStatus {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotStatus::Available => "available",
            SlotStatus::Blocked => "blocked",
            SlotStatus::Reserved => "reserved",
        }
    }

    /// The status after `event` happened to a booking of this slot.
    pub fn after(self, event: &BookingEvent) -> SlotStatus {
        match (self, event) {
            (_, BookingEvent::BookingCreated { .. }) => SlotStatus::Blocked,
            (_, BookingEvent::BookingReserved) => SlotStatus::Reserved,
            (status, _) => status,
        }
    }
}

impl fmt::Display for SlotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A stored status name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown slot status {0:?}")]
pub struct UnknownSlotStatus(pub String);

impl FromStr for SlotStatus {
    type Err = UnknownSlotStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "available" => Ok(SlotStatus::Available),
            "blocked" => Ok(SlotStatus::Blocked),
            "reserved" => Ok(SlotStatus::Reserved),
            other => Err(UnknownSlotStatus(other.to_owned())),
        }
    }
}

/// A parking slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkingSlot {
    /// Its id, the `parking_slot_ref_no` of bookings.
    pub uuid: Uuid,
    /// Its name, e.g. `Slot 1`.
    pub name: String,
    /// Its status.
    pub status: SlotStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> BookingEvent {
        BookingEvent::BookingCreated {
            parking_slot_ref_no: Uuid::nil(),
        }
    }

    #[test]
    fn a_created_booking_blocks_the_slot() {
        assert_eq!(SlotStatus::Available.after(&created()), SlotStatus::Blocked);
        assert_eq!(SlotStatus::Reserved.after(&created()), SlotStatus::Blocked);
        assert_eq!(SlotStatus::Blocked.after(&created()), SlotStatus::Blocked);
    }

    #[test]
    fn a_reservation_reserves_the_slot() {
        for status in [
            SlotStatus::Available,
            SlotStatus::Blocked,
            SlotStatus::Reserved,
        ] {
            assert_eq!(
                status.after(&BookingEvent::BookingReserved),
                SlotStatus::Reserved
            );
        }
    }

    #[test]
    fn a_completion_leaves_the_slot_as_it_is() {
        for status in [
            SlotStatus::Available,
            SlotStatus::Blocked,
            SlotStatus::Reserved,
        ] {
            assert_eq!(status.after(&BookingEvent::BookingCompleted), status);
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            SlotStatus::Available,
            SlotStatus::Blocked,
            SlotStatus::Reserved,
        ] {
            assert_eq!(status.as_str().parse::<SlotStatus>().ok(), Some(status));
        }
        assert!("gone".parse::<SlotStatus>().is_err());
    }
}
