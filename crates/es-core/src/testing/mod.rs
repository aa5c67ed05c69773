//! Test support, behind the `testing` feature.
//!
//! * [`AggregateTest`]: given/when/then tests of an aggregate's pure logic.
//! * [`conformance`]: one test per guarantee of the event store contract,
//!   generic over any store; a backend runs them all with
//!   [`conformance_tests!`](crate::conformance_tests).

mod aggregate_test;
pub mod conformance;

pub use aggregate_test::{AggregateTest, AggregateTestResult};

/// Runs a future to completion on a fresh multi-threaded Tokio runtime.
///
/// Used by [`conformance_tests!`](crate::conformance_tests) so that backend
/// crates need no test macro of their own.
///
/// # Panics
/// If the runtime cannot be built (test code only).
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("cannot build a Tokio runtime for the test")
        .block_on(future)
}
