//! Projections: read models fed from the global log, exactly once.
//!
//! A [`Projection`] writes into its own store through that store's transaction
//! type. The [`ProjectionRunner`] reads a batch after the projection's
//! checkpoint, applies it inside one transaction, and commits the new
//! checkpoint *in that same transaction* ([`CheckpointStore::commit`]). A crash
//! anywhere rolls back both, so after a restart every event is applied exactly
//! once. The projection's database can differ from the event store's: the
//! checkpoint lives with the projection, not with the events.

mod catch_up_progress;
mod checkpoint_store;
mod error;
mod read_model;
mod runner;

pub use catch_up_progress::{CatchUpMeter, CatchUpProgress};
pub use checkpoint_store::CheckpointStore;
pub use error::ProjectionError;
pub use read_model::Projection;
pub use runner::ProjectionRunner;
