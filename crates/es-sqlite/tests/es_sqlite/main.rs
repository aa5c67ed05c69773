//! The es-sqlite integration tests, one binary: each module is one concern.

mod conformance;
mod exact_json;
mod leases;
mod runner_under_lease;
mod snapshots;
mod undecodable_rows;
