//! The bookings a server-mode fault test sends: a plan of bookings (each on
//! its own slot, going one, two or three steps), written straight into
//! Booking's event store with event ids derived from booking and step, so a
//! retried append is idempotent.

use std::time::Duration;

use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_example_services::common::booking_event::BookingEvent;
use es_postgres::PostgresStore;
use uuid::Uuid;

/// Whether the larger scenario sizes were asked for (`ES_TORTURE_FULL=1`).
pub fn full() -> bool {
    std::env::var("ES_TORTURE_FULL").is_ok_and(|v| v == "1")
}

/// A multi-threaded runtime for the test's own database work.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A small pseudo-random generator (xorshift), seeded from a random UUID
/// and printed so that a failing run can be told apart.
pub struct Rng(u64);

impl Rng {
    /// A generator with a random seed.
    pub fn new() -> Self {
        let seed = (Uuid::new_v4().as_u128() as u64) | 1;
        eprintln!("torture seed: {seed}");
        Rng(seed)
    }

    /// The next number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// One booking of the plan: its id, its slot and how far it goes
/// (1: created, 2: reserved, 3: completed).
#[derive(Debug, Clone, Copy)]
pub struct PlannedBooking {
    /// The booking id.
    pub id: Uuid,
    /// Its own parking slot.
    pub slot: Uuid,
    /// How many events it gets.
    pub steps: u64,
}

impl PlannedBooking {
    /// The booking projection's status at the end.
    pub fn final_status(&self) -> &'static str {
        match self.steps {
            1 => "created",
            2 => "reserved",
            _ => "completed",
        }
    }

    /// The slot's status at the end.
    pub fn final_slot_status(&self) -> &'static str {
        match self.steps {
            1 => "blocked",
            _ => "reserved",
        }
    }

    /// Its events, in order.
    pub fn events(&self) -> Vec<BookingEvent> {
        let mut events = vec![BookingEvent::BookingCreated {
            parking_slot_ref_no: self.slot,
        }];
        if self.steps >= 2 {
            events.push(BookingEvent::BookingReserved);
        }
        if self.steps >= 3 {
            events.push(BookingEvent::BookingCompleted);
        }
        events
    }

    /// The id of its event `step` (1: the creation), the same on every
    /// attempt, so a retried append is idempotent.
    pub fn event_id(&self, step: u64) -> Uuid {
        Uuid::from_u128(self.id.as_u128() ^ u128::from(step))
    }

    /// Its stream.
    pub fn stream(&self) -> StreamId {
        StreamId::new(format!("booking-{}", self.id)).expect("a valid stream id")
    }
}

/// `count` bookings, each on its own slot, going 1, 2 or 3 steps.
pub fn plan(count: usize) -> Vec<PlannedBooking> {
    (0..count)
        .map(|n| PlannedBooking {
            id: Uuid::now_v7(),
            slot: Uuid::new_v4(),
            steps: (n % 3) as u64 + 1,
        })
        .collect()
}

/// The number of events in `plan`.
pub fn event_count(plan: &[PlannedBooking]) -> u64 {
    plan.iter().map(|b| b.steps).sum()
}

/// Appends one step of a booking (step 1 creates it).
pub async fn append_step(
    store: &PostgresStore,
    booking: &PlannedBooking,
    step: u64,
) -> Result<(), es_core::StoreError> {
    let event = &booking.events()[(step - 1) as usize];
    let new = NewEvent::from_domain(event)
        .expect("booking events encode")
        .with_id(booking.event_id(step));
    store
        .append(
            &booking.stream(),
            ExpectedVersion::Exact(step - 1),
            vec![new],
        )
        .await
        .map(|_| ())
}

/// Appends the whole plan step by step, interleaving bookings the way
/// concurrent users would: all creations in a window, then reservations...
pub async fn append_plan(store: &PostgresStore, plan: &[PlannedBooking]) {
    for window in plan.chunks(100) {
        for step in 1..=3 {
            for booking in window.iter().filter(|b| b.steps >= step) {
                append_step(store, booking, step)
                    .await
                    .expect("append a booking event");
            }
        }
    }
}

/// Like [`append_plan`], in windows of 10 bookings with `pause` after each,
/// so that the stream lasts while faults are injected.
pub async fn append_plan_paced(store: &PostgresStore, plan: &[PlannedBooking], pause: Duration) {
    for window in plan.chunks(10) {
        append_plan(store, window).await;
        tokio::time::sleep(pause).await;
    }
}
