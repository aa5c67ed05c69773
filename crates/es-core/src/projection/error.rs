//! What can go wrong while projecting: reading the log, applying an event,
//! the projection's own store, or another runner moving the checkpoint.

use crate::{BoxError, Position, StoreError};

/// Errors of projections and their runner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// Reading the event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The projection failed to apply an event; the batch was rolled back.
    #[error(
        "projection {projection} failed on {event_type} at {stream_id} version {version}: {source}"
    )]
    Apply {
        /// The projection's name.
        projection: String,
        /// The event's stream.
        stream_id: String,
        /// The event's version.
        version: u64,
        /// The event's type.
        event_type: String,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The projection's name cannot key a checkpoint (see
    /// [`check_projection_name`](crate::backend::check_projection_name)); never
    /// transient.
    #[error("projection name refused: {0}")]
    InvalidName(#[from] crate::InvalidInput),
    /// The projection's own store failed (begin, commit, checkpoint).
    #[error("projection store error: {0}")]
    Backend(#[source] BoxError),
    /// Another runner committed this projection's checkpoint first; this
    /// batch was rolled back. Runners recover from it by reloading.
    #[error("the checkpoint of projection {projection} moved from {expected} to {actual} under this runner")]
    CheckpointMoved {
        /// The projection's name.
        projection: String,
        /// The checkpoint this runner started the batch from.
        expected: Position,
        /// The checkpoint found in the store.
        actual: Position,
    },
    /// The runner stopped before reaching the awaited position.
    #[error("the projection runner stopped")]
    Stopped,
}

impl ProjectionError {
    /// Wraps an error of the projection's store.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        ProjectionError::Backend(error.into())
    }
}
