//! The CLIs in embedded mode (SQLite files in a temporary directory): the
//! seed's workflow, bad input, and concurrent processes on one booking.

mod bad_input;
mod concurrency;
mod workflow;
