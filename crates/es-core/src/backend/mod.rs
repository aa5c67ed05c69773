//! The rules every backend applies, written once: for authors of an
//! [`EventStore`](crate::EventStore), a [`CheckpointStore`](crate::CheckpointStore)
//! or an inbox.
//!
//! Users of a store never call these; a store calls each of them at the
//! point its contract says, so that every backend accepts, refuses and
//! answers the same way (the conformance suite in `testing` checks it):
//!
//! * [`validate_append`] (`validation.rs`), first in every
//!   [`append`](crate::EventStore::append): the input [`limits`], NUL, the
//!   characters reserved by routing keys, an id repeated in the batch.
//! * [`check_expected_version`] (`version_check.rs`), inside the append's
//!   transaction: optimistic concurrency.
//! * [`previous_append`] (`idempotent_append.rs`), when ids of the batch
//!   are already recorded ([`RecordedId`]): an exact re-send answered with
//!   the earlier outcome, or a clash.
//! * [`check_checkpoint`] (`checkpoint_rule.rs`), in every
//!   [`CheckpointStore::commit`](crate::CheckpointStore::commit): the
//!   checkpoint's compare-and-set.
//! * [`check_projection_name`] and [`check_consumer_name`]
//!   (`validation.rs`): the names that key checkpoints and inbox rows.

mod checkpoint_rule;
mod idempotent_append;
pub mod limits;
pub(crate) mod validation;
mod version_check;

pub use checkpoint_rule::check_checkpoint;
pub use idempotent_append::{previous_append, RecordedId};
pub use validation::{check_consumer_name, check_projection_name, validate_append};
pub use version_check::check_expected_version;
