//! The Booking aggregate: a small state machine over [`BookingEvent`]s.
//!
//! A booking is created for a parking slot, then reserved, then completed, in
//! that order and only in that order. Every other request is refused with a
//! reason, and nothing is written. The aggregate is pure (no I/O), so its
//! rules are tested below with the given/when/then kit alone.

use es_core::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::booking_event::{BookingEvent, BookingStatus};

/// The Booking aggregate (its state is [`BookingState`]).
pub struct Booking;

/// What a booking knows about itself once it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingState {
    /// Where it is in its life.
    pub status: BookingStatus,
    /// The parking slot it is for.
    pub parking_slot_ref_no: Uuid,
}

/// What a caller can ask of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingCommand {
    /// Request a booking of a parking slot.
    Create {
        /// The parking slot's uuid in the Parking service.
        parking_slot_ref_no: Uuid,
    },
    /// Reserve a created booking.
    Reserve,
    /// Complete a reserved booking.
    Complete,
}

/// Why a booking refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The booking was never created.
    #[error("there is no such booking")]
    NotFound,
    /// The booking exists already.
    #[error("the booking already exists")]
    AlreadyExists,
    /// Only a created booking can be reserved.
    #[error("the booking is {0}; only a created booking can be reserved")]
    NotReservable(BookingStatus),
    /// Only a reserved booking can be completed.
    #[error("the booking is {0}; only a reserved booking can be completed")]
    NotCompletable(BookingStatus),
}

impl Aggregate for Booking {
    const TYPE: &'static str = crate::common::booking_event::BOOKING_CATEGORY;
    /// `None` until the booking is created.
    type State = Option<BookingState>;
    type Command = BookingCommand;
    type Event = BookingEvent;
    type Error = BookingError;

    fn handle(
        state: &Option<BookingState>,
        command: BookingCommand,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        match (state, command) {
            (
                None,
                BookingCommand::Create {
                    parking_slot_ref_no,
                },
            ) => Ok(vec![BookingEvent::BookingCreated {
                parking_slot_ref_no,
            }]),
            (Some(_), BookingCommand::Create { .. }) => Err(BookingError::AlreadyExists),
            (None, _) => Err(BookingError::NotFound),
            (Some(booking), BookingCommand::Reserve) => match booking.status {
                BookingStatus::Created => Ok(vec![BookingEvent::BookingReserved]),
                other => Err(BookingError::NotReservable(other)),
            },
            (Some(booking), BookingCommand::Complete) => match booking.status {
                BookingStatus::Reserved => Ok(vec![BookingEvent::BookingCompleted]),
                other => Err(BookingError::NotCompletable(other)),
            },
        }
    }

    fn apply(state: Option<BookingState>, event: &BookingEvent) -> Option<BookingState> {
        match (state, event) {
            (
                _,
                BookingEvent::BookingCreated {
                    parking_slot_ref_no,
                },
            ) => Some(BookingState {
                status: BookingStatus::Created,
                parking_slot_ref_no: *parking_slot_ref_no,
            }),
            // A status change of a booking that was never created cannot be
            // in a stream this aggregate wrote; keep folding without it.
            (None, _) => None,
            (Some(booking), event) => Some(BookingState {
                status: event.status(),
                ..booking
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use es_core::testing::AggregateTest;

    use super::*;

    const SLOT: Uuid = Uuid::from_u128(0xc9ed7097_05ee_4ab6_8361_3a2a3dee00e3);

    fn created() -> BookingEvent {
        BookingEvent::BookingCreated {
            parking_slot_ref_no: SLOT,
        }
    }

    #[test]
    fn a_booking_is_created_for_a_slot() {
        AggregateTest::<Booking>::given_no_previous_events()
            .when(BookingCommand::Create {
                parking_slot_ref_no: SLOT,
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn a_booking_is_created_only_once() {
        AggregateTest::<Booking>::given([created()])
            .when(BookingCommand::Create {
                parking_slot_ref_no: SLOT,
            })
            .then_expect_error_message("the booking already exists");
    }

    #[test]
    fn a_created_booking_is_reserved() {
        AggregateTest::<Booking>::given([created()])
            .when(BookingCommand::Reserve)
            .then_expect_events(vec![BookingEvent::BookingReserved]);
    }

    #[test]
    fn a_reserved_booking_is_completed() {
        AggregateTest::<Booking>::given([created(), BookingEvent::BookingReserved])
            .when(BookingCommand::Complete)
            .then_expect_events(vec![BookingEvent::BookingCompleted]);
    }

    #[test]
    fn an_unknown_booking_cannot_be_reserved_or_completed() {
        for command in [BookingCommand::Reserve, BookingCommand::Complete] {
            AggregateTest::<Booking>::given_no_previous_events()
                .when(command)
                .then_expect_error_message("there is no such booking");
        }
    }

    #[test]
    fn a_created_booking_cannot_be_completed() {
        AggregateTest::<Booking>::given([created()])
            .when(BookingCommand::Complete)
            .then_expect_error_message(
                "the booking is created; only a reserved booking can be completed",
            );
    }

    #[test]
    fn a_booking_is_reserved_only_once() {
        AggregateTest::<Booking>::given([created(), BookingEvent::BookingReserved])
            .when(BookingCommand::Reserve)
            .then_expect_error_message(
                "the booking is reserved; only a created booking can be reserved",
            );
    }

    #[test]
    fn a_completed_booking_is_final() {
        let history = [
            created(),
            BookingEvent::BookingReserved,
            BookingEvent::BookingCompleted,
        ];
        AggregateTest::<Booking>::given(history.clone())
            .when(BookingCommand::Reserve)
            .then_expect_error(|e| *e == BookingError::NotReservable(BookingStatus::Completed));
        AggregateTest::<Booking>::given(history)
            .when(BookingCommand::Complete)
            .then_expect_error(|e| *e == BookingError::NotCompletable(BookingStatus::Completed));
    }

    #[test]
    fn the_state_keeps_the_slot_through_status_changes() {
        let state = Booking::fold(
            None,
            &[
                created(),
                BookingEvent::BookingReserved,
                BookingEvent::BookingCompleted,
            ],
        );
        assert_eq!(
            state,
            Some(BookingState {
                status: BookingStatus::Completed,
                parking_slot_ref_no: SLOT,
            })
        );
    }
}
