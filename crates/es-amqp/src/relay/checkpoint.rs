//! Where the relay remembers how far the broker has confirmed.
//!
//! The relay is one more tracked subscriber of the global log, so its
//! checkpoint is a [`Position`]. It only ever saves a position after the
//! broker confirmed every event up to it, so a crash repeats (duplicates)
//! events but never skips one. Any [`CheckpointStore`] (the in-memory one,
//! the SQLite and PostgreSQL projection stores) can hold it: saving commits
//! an empty transaction that moves the checkpoint, with the store's
//! compare-and-set guarding against two relays under one name.

use es_core::{async_trait, BoxError, CheckpointStore, Position, ProjectionError};

/// What saving a relay checkpoint can run into.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The stored checkpoint was not the expected previous one.
    #[error("checkpoint moved: expected {expected}, found {actual}")]
    Moved {
        /// What the relay saved last.
        expected: Position,
        /// What is stored.
        actual: Position,
    },
    /// The store refuses the relay's name as a checkpoint name: retrying
    /// cannot help. ([`RelayConfigBuilder::build`](crate::RelayConfigBuilder::build)
    /// checks the name by es-core's rule, so this is a store with a stricter one.)
    #[error("the checkpoint store refuses the relay's name: {0}")]
    InvalidName(#[source] es_core::InvalidInput),
    /// The store failed.
    #[error("checkpoint store error: {0}")]
    Backend(#[source] BoxError),
}

/// Loads and saves the relay's checkpoint.
#[async_trait]
pub trait RelayCheckpoint: Send + Sync {
    /// The saved checkpoint of relay `name` ([`Position::START`] if none).
    async fn load(&self, name: &str) -> Result<Position, CheckpointError>;

    /// Moves relay `name`'s checkpoint from `previous` to `checkpoint`, or
    /// fails with [`CheckpointError::Moved`] if it is not at `previous`.
    async fn save(
        &self,
        name: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), CheckpointError>;
}

fn from_projection(error: ProjectionError) -> CheckpointError {
    match error {
        ProjectionError::CheckpointMoved {
            expected, actual, ..
        } => CheckpointError::Moved { expected, actual },
        ProjectionError::InvalidName(invalid) => CheckpointError::InvalidName(invalid),
        other => CheckpointError::Backend(Box::new(other)),
    }
}

#[async_trait]
impl<C: CheckpointStore> RelayCheckpoint for C {
    async fn load(&self, name: &str) -> Result<Position, CheckpointError> {
        self.load_checkpoint(name).await.map_err(from_projection)
    }

    async fn save(
        &self,
        name: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), CheckpointError> {
        let tx = self.begin().await.map_err(from_projection)?;
        self.commit(tx, name, previous, checkpoint)
            .await
            .map_err(from_projection)
    }
}
