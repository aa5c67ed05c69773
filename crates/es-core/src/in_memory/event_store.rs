//! The in-memory store's [`EventStore`] implementation: one mutex-guarded
//! log, so every append is trivially atomic and positions are sequence numbers.

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;
use uuid::Uuid;

use crate::backend::{check_expected_version, previous_append, validate_append, RecordedId};
use crate::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent, StoreError,
    StreamId,
};

use super::{InMemoryStore, Inner};

/// The rows recorded for any id of the batch.
fn recorded_ids(inner: &Inner, events: &[NewEvent]) -> Vec<RecordedId> {
    events
        .iter()
        .filter_map(|event| inner.ids.get(&event.event_id))
        .map(|&index| {
            let recorded = &inner.log[index];
            RecordedId {
                event_id: recorded.event_id,
                stream_id: recorded.stream_id.clone(),
                version: recorded.version,
                position: recorded.position,
            }
        })
        .collect()
}

/// Appends a validated batch under the store's lock: the re-send check, the
/// expected version, then the events.
pub(super) fn append_locked(
    inner: &mut Inner,
    stream_id: &StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> Result<AppendOutcome, StoreError> {
    let current = inner.streams.get(stream_id).map_or(0, |v| v.len() as u64);
    if events.is_empty() {
        check_expected_version(stream_id, expected, current)?;
        return Ok(AppendOutcome::nothing_written(current));
    }
    if let Some(outcome) = previous_append_of(inner, stream_id, &events)? {
        return Ok(outcome);
    }
    check_expected_version(stream_id, expected, current)?;
    let now = Utc::now();
    let mut version = current;
    let first = inner.log.len() as u64 + 1;
    for event in events {
        version += 1;
        let index = inner.log.len();
        let position = Position::from_sequence(index as u64 + 1);
        inner.ids.insert(event.event_id, index);
        inner
            .streams
            .entry(stream_id.clone())
            .or_default()
            .push(index);
        inner.log.push(RecordedEvent {
            event_id: event.event_id,
            stream_id: stream_id.clone(),
            version,
            position,
            event_type: event.event_type,
            schema_version: event.schema_version,
            payload: event.payload,
            metadata: event.metadata,
            recorded_at: now,
        });
    }
    let last = inner.log.len() as u64;
    Ok(AppendOutcome {
        version,
        first_position: Some(Position::from_sequence(first)),
        last_position: Some(Position::from_sequence(last)),
        resent: false,
    })
}

/// The earlier append's outcome if this batch is an exact re-send.
pub(super) fn previous_append_of(
    inner: &Inner,
    stream_id: &StreamId,
    events: &[NewEvent],
) -> Result<Option<AppendOutcome>, StoreError> {
    let batch: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    previous_append(stream_id, &batch, recorded_ids(inner, events))
}

#[async_trait]
impl EventStore for InMemoryStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        validate_append(stream_id, &events)?;
        let outcome = append_locked(&mut self.lock(), stream_id, expected, events)?;
        if outcome.last_position.is_some() && !outcome.resent {
            self.appended.send_replace(());
        }
        Ok(outcome)
    }

    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        let inner = self.lock();
        let events: Vec<_> = inner
            .streams
            .get(stream_id)
            .map(|indexes| {
                indexes
                    .iter()
                    .skip(from_version.saturating_sub(1) as usize)
                    .map(|&i| inner.read(i))
                    .collect()
            })
            .unwrap_or_default();
        stream::iter(events).boxed()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let start = inner.log.partition_point(|e| e.position <= after);
        let end = inner.log.len().min(start.saturating_add(limit));
        (start..end).map(|index| inner.read(index)).collect()
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        Ok(self
            .lock()
            .streams
            .get(stream_id)
            .map_or(0, |v| v.len() as u64))
    }

    fn append_notifications(&self) -> watch::Receiver<()> {
        self.appended.subscribe()
    }

    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        let inner = self.lock();
        let start = inner.log.partition_point(|e| e.position <= after);
        Ok(Some((inner.log.len() - start) as u64))
    }
}
