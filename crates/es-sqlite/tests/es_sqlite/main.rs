//! The es-sqlite integration tests, one binary: each module is one concern.

mod conformance;
mod exact_json;
mod first_open;
mod leases;
mod one_connection;
mod runner_under_lease;
mod snapshots;
mod undecodable_rows;
