//! End-to-end tests of the example services: the real `booking`, `parking`
//! and `demo` binaries (cargo builds them for this test and passes their
//! paths), run as processes against SQLite files, PostgreSQL and RabbitMQ.
//!
//! - [`embedded`]: the CLIs on SQLite files, no server.
//! - [`server`]: `booking serve` and `parking serve` against PostgreSQL and
//!   RabbitMQ, the seed's workflow and what they must survive: kills,
//!   outages, shutdown signals, bad data, hostile names, late commits, and
//!   passwords kept out of sight.
//!
//! Outages are made with a fault-injecting proxy between a service and the
//! server, never by stopping the shared servers; the one test that restarts
//! them runs only when `ES_TEST_SERVER_RESTARTS=1` is set.
//! `ES_TORTURE_FULL=1` runs the larger scenario sizes.

mod embedded;
mod server;
mod support;
