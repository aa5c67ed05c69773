//! # es-lease: at most one instance works on a name; the others wait as standbys
//!
//! Services run more than one instance, if only during a rolling deploy, and
//! some workers must run alone: the outbox relay, each projection runner. A
//! [`LeaseStore`] grants a name to one holder at a time; the [`Lease`] it
//! returns is renewed in the background (see [`LeaseKeeper`], [`Renewal`])
//! and reports when it is lost. [`Leader`] is the loop every instance runs
//! ([`Leader::serve`] for a [`LeaderWork`] such as the relay or a projection runner):
//! standby until it takes the lease, leader while it holds it, back to
//! standby when it loses it, with its [`Role`] on a `watch` channel.
//! [`LeaseStore::holder`] tells operators who holds a name now.
//!
//! Name a worker's lease after its checkpoint (the relay's name, the
//! projection's [`name`](es_core::Projection::name)): operator tools look a
//! checkpoint's lease up under the checkpoint's name.
//!
//! Backends: `es_postgres::PostgresLeases` (advisory locks on a dedicated
//! connection), `es_sqlite::SqliteLeases` (a row with an expiry), and
//! [`InMemoryLeases`] here for tests.
//!
//! A lease narrows, but cannot close, the window in which two instances both
//! believe they lead (a paused holder learns of its loss only at its next
//! renewal). Writers keep their fencing token: the checkpoint compare-and-set
//! of [`CheckpointStore::commit`](es_core::CheckpointStore::commit).

#![warn(missing_docs)]

mod error;
mod holder;
mod in_memory;
mod keeper;
mod leader;
mod leader_config;
mod leader_work;
mod lease;
mod lease_store;
mod names;
mod projection_runner;
mod role;

#[cfg(test)]
mod serve_tests;
#[cfg(test)]
mod stall_tests;
#[cfg(test)]
mod tests;

pub use error::{LeaseError, LeaseLost};
pub use holder::LeaseHolder;
pub use in_memory::InMemoryLeases;
pub use keeper::{LeaseKeeper, Renewal};
pub use leader::{run_as_leader, Leader, LeaderExit};
pub use leader_config::{
    LeaderConfig, DEFAULT_LEASE_ACQUIRE_TIMEOUT, DEFAULT_LEASE_RETRY_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
};
pub use leader_work::{LeaderWork, WorkEnd};
pub use lease::{Lease, LeaseInfo};
pub use lease_store::LeaseStore;
pub use names::{check_lease_holder, check_lease_name, MAX_LEASE_NAME_LEN};
pub use role::Role;

/// Re-exported so lease stores and workers name the same version as `es-core`.
pub use es_core::async_trait;
/// Re-exported: what a worker reports so its [`Leader`] can depose it when stuck.
pub use es_core::Liveness;
