//! The rule that makes appends idempotent by event id.
//!
//! When an append finds ids of its batch already recorded, it is either an
//! exact re-send of an append that committed (answer with that append's
//! outcome, write nothing) or a clash (an id recorded elsewhere). Each backend
//! looks the ids up its own way and hands the rows to [`previous_append`].

use std::collections::HashMap;

use uuid::Uuid;

use crate::{AppendOutcome, Position, StoreError, StreamId};

/// Where one event id of a batch is already recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedId {
    /// The recorded event's id.
    pub event_id: Uuid,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version in that stream.
    pub version: u64,
    /// Its place in the global log.
    pub position: Position,
}

/// Decides whether a batch whose ids were looked up is an exact re-send.
///
/// `batch` is the batch's event ids in order; `found` the rows recorded for
/// any of them, in any order. Returns:
/// * `Ok(None)` when none of the ids is recorded: a new append;
/// * `Ok(Some(outcome))` when every id is recorded, in `stream_id`, at
///   consecutive versions in batch order: the earlier append's outcome;
/// * [`StoreError::DuplicateEventId`] otherwise (call
///   [`validate_append`](crate::backend::validate_append) first: it refuses an id
///   repeated within the batch), naming the first clashing id
///   recorded in another stream (or, if none, the first recorded id).
///
/// ```
/// use es_core::backend::{previous_append, RecordedId};
/// use es_core::{Position, StreamId};
/// let stream = StreamId::new("door-1").unwrap();
/// let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
/// let row = |event_id, version| RecordedId {
///     event_id, stream_id: stream.clone(), version, position: Position::from_sequence(version),
/// };
/// assert_eq!(previous_append(&stream, &[a, b], Vec::new()).unwrap(), None);
/// let outcome = previous_append(&stream, &[a, b], vec![row(b, 2), row(a, 1)]).unwrap().unwrap();
/// assert_eq!(outcome.version, 2);
/// assert!(previous_append(&stream, &[a, b], vec![row(a, 1)]).is_err());
/// ```
pub fn previous_append(
    stream_id: &StreamId,
    batch: &[Uuid],
    mut found: Vec<RecordedId>,
) -> Result<Option<AppendOutcome>, StoreError> {
    let index: HashMap<&Uuid, usize> = batch.iter().enumerate().map(|(i, id)| (id, i)).collect();
    found.sort_by_key(|row| index.get(&row.event_id).copied().unwrap_or(usize::MAX));
    let (Some(first), Some(last)) = (found.first(), found.last()) else {
        return Ok(None);
    };
    let exact_resend = found.len() == batch.len()
        && found
            .iter()
            .zip(batch)
            .all(|(row, id)| row.event_id == *id && &row.stream_id == stream_id)
        && found.windows(2).all(|w| w[1].version == w[0].version + 1);
    if exact_resend {
        return Ok(Some(AppendOutcome {
            version: last.version,
            first_position: Some(first.position),
            last_position: Some(last.position),
            resent: true,
        }));
    }
    let clash = found
        .iter()
        .find(|row| &row.stream_id != stream_id)
        .unwrap_or(first);
    Err(StoreError::DuplicateEventId {
        event_id: clash.event_id,
        existing_stream: clash.stream_id.clone(),
        existing_version: clash.version,
    })
}
