//! A Booking-like lifecycle (create, reserve, complete) for benchmarks.

use es_core::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// The aggregate.
pub struct Lifecycle;

/// Its state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Not created yet.
    #[default]
    New,
    /// Created.
    Created,
    /// Reserved.
    Reserved,
    /// Completed.
    Completed,
}

/// Its commands.
#[derive(Debug, Clone)]
pub enum Step {
    /// Create for a slot.
    Create(String),
    /// Reserve.
    Reserve,
    /// Complete.
    Complete,
}

/// Its events (named as in the seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::enum_variant_names)]
pub enum LifecycleEvent {
    /// Created.
    BookingCreated {
        /// The slot.
        parking_slot_ref_no: String,
    },
    /// Reserved.
    BookingReserved,
    /// Completed.
    BookingCompleted,
}

impl DomainEvent for LifecycleEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::BookingCreated { .. } => "BookingCreated",
            Self::BookingReserved => "BookingReserved",
            Self::BookingCompleted => "BookingCompleted",
        }
    }
}

/// A refused step.
#[derive(Debug, thiserror::Error)]
#[error("step not allowed in stage {0:?}")]
pub struct NotAllowed(pub Stage);

impl Aggregate for Lifecycle {
    const TYPE: &'static str = "booking";
    type State = Stage;
    type Command = Step;
    type Event = LifecycleEvent;
    type Error = NotAllowed;

    fn handle(stage: &Stage, step: Step) -> Result<Vec<LifecycleEvent>, NotAllowed> {
        match (stage, step) {
            (Stage::New, Step::Create(slot)) => Ok(vec![LifecycleEvent::BookingCreated {
                parking_slot_ref_no: slot,
            }]),
            (Stage::Created, Step::Reserve) => Ok(vec![LifecycleEvent::BookingReserved]),
            (Stage::Reserved, Step::Complete) => Ok(vec![LifecycleEvent::BookingCompleted]),
            (stage, _) => Err(NotAllowed(*stage)),
        }
    }

    fn apply(_: Stage, event: &LifecycleEvent) -> Stage {
        match event {
            LifecycleEvent::BookingCreated { .. } => Stage::Created,
            LifecycleEvent::BookingReserved => Stage::Reserved,
            LifecycleEvent::BookingCompleted => Stage::Completed,
        }
    }
}
