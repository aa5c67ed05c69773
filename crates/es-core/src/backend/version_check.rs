//! The optimistic-concurrency rule of an append: the stream must be at the
//! version the writer expects, or the append is a conflict.

use crate::{ExpectedVersion, StoreError, StreamId};

/// Checks an append against the stream's current version: `Ok` when
/// `expected` is satisfied by `current`, else [`StoreError::Conflict`] naming
/// both. Every backend calls it inside the append's transaction, after
/// reading the stream's version under the lock that serialises its writers.
///
/// ```
/// use es_core::{backend::check_expected_version, ExpectedVersion, StoreError, StreamId};
/// let stream = StreamId::new("door-1").unwrap();
/// assert!(check_expected_version(&stream, ExpectedVersion::Exact(2), 2).is_ok());
/// assert!(matches!(
///     check_expected_version(&stream, ExpectedVersion::NoStream, 2),
///     Err(StoreError::Conflict { actual: 2, .. })
/// ));
/// ```
pub fn check_expected_version(
    stream_id: &StreamId,
    expected: ExpectedVersion,
    current: u64,
) -> Result<(), StoreError> {
    if expected.is_satisfied_by(current) {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            stream_id: stream_id.clone(),
            expected,
            actual: current,
        })
    }
}
