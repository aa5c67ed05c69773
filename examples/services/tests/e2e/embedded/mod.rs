//! The CLIs in embedded mode (SQLite files in a temporary directory): the
//! seed's workflow, bad input, concurrent processes on one booking, and
//! rebuilding the booking projection with progress reports.

mod bad_input;
mod concurrency;
pub mod one_booking_per_slot;
mod rebuild;
mod workflow;
