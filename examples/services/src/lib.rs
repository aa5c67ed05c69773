//! The two example services of the es-* crates, Booking and Parking, as a
//! library, so that their CLIs (`booking`, `parking`), the `demo` that drives
//! both in-process, and the end-to-end tests all use one copy of the code.
//!
//! - [`booking`]: records booking requests, reservations and completions as
//!   events, projects them into a read model and relays them to RabbitMQ.
//! - [`parking`]: keeps parking slots and follows Booking's events.
//! - [`common`]: the contract between the two (the booking events) and what
//!   both CLIs share (exit codes, the data directory, `/health`, logging).
//! - [`demo`]: the whole workflow, embedded, in one run.

pub mod booking;
pub mod common;
pub mod demo;
pub mod parking;
