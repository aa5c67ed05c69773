//! The compare-and-set rule of projection checkpoints.
//!
//! A checkpoint only moves from the position its runner started the batch
//! from; if another runner moved it first, the batch is rolled back. Every
//! [`CheckpointStore`](crate::CheckpointStore) (in memory, SQLite, PostgreSQL,
//! and the relay's checkpoint on top of them) applies this one rule.

use crate::{Position, ProjectionError};

/// Checks that the stored checkpoint of `projection` is still `expected`
/// before moving it; otherwise [`ProjectionError::CheckpointMoved`].
///
/// A store reads the stored checkpoint inside the transaction that will move
/// it (treating "none stored" as [`Position::START`]) and calls this before
/// writing. A store whose write is itself a conditional update calls it with
/// the stored value after the update matched no row.
///
/// ```
/// use es_core::{backend::check_checkpoint, Position, ProjectionError};
/// assert!(check_checkpoint("tally", Position::START, Position::START).is_ok());
/// let moved = check_checkpoint("tally", Position::START, Position::from_sequence(3));
/// assert!(matches!(moved, Err(ProjectionError::CheckpointMoved { .. })));
/// ```
pub fn check_checkpoint(
    projection: &str,
    expected: Position,
    stored: Position,
) -> Result<(), ProjectionError> {
    if stored == expected {
        Ok(())
    } else {
        Err(ProjectionError::CheckpointMoved {
            projection: projection.to_owned(),
            expected,
            actual: stored,
        })
    }
}
