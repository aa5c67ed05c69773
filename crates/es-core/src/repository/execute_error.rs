//! Why a command did not commit: the aggregate refused it, another writer
//! won, the id cannot name a stream, or the store failed.

use crate::{InvalidInput, StoreError, StreamId};

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused the command (a domain error). Nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// Another writer appended to the stream first. Nothing was written.
    #[error("concurrency conflict on {stream_id}: the command was decided at version {expected} but the stream is at version {actual}")]
    Conflict {
        /// The aggregate's stream.
        stream_id: StreamId,
        /// The version the command was decided at.
        expected: u64,
        /// The stream's version at append time.
        actual: u64,
    },
    /// The aggregate id cannot name a stream (NUL, or too long); see
    /// [`StreamId::for_aggregate`]. Nothing was read or written.
    #[error("aggregate id refused: {0}")]
    InvalidId(InvalidInput),
    /// The store failed (unreachable, undecodable stored data, …).
    #[error(transparent)]
    Store(StoreError),
}

/// A store's conflict becomes [`ExecuteError::Conflict`] when its
/// expectation named one version (`Exact`, or `NoStream`: version `0`, as
/// every append of a [`Repository`](crate::Repository) does); any other
/// error, a conflict on `StreamExists` included, stays the store's error,
/// whole.
impl<E: std::error::Error + 'static> From<StoreError> for ExecuteError<E> {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict {
                stream_id,
                expected,
                actual,
            } if expected.single_version().is_some() => ExecuteError::Conflict {
                stream_id,
                expected: expected.single_version().unwrap_or_default(),
                actual,
            },
            other => ExecuteError::Store(other),
        }
    }
}
