//! Turning decided events into an append, and what follows a commit: the
//! folded state, the cache, and the snapshot the policy may ask for.

use crate::{
    Aggregate, AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId,
};

use es_telemetry::metrics::AppendEnd;
use tracing::Instrument;

use super::{Executed, IdempotencyKey, Loaded, Repository};

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// Appends `events`, decided at version `before`, with
    /// `ExpectedVersion::Exact(before)`. With a `key`, the events' ids are
    /// derived from it ([`IdempotencyKey::event_id`]), else fresh.
    pub(super) async fn append_events(
        &self,
        stream_id: &StreamId,
        before: u64,
        events: &[A::Event],
        key: Option<&IdempotencyKey>,
        metadata: &Metadata,
    ) -> Result<AppendOutcome, StoreError> {
        let new_events = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let new = NewEvent::from_domain(event)
                    .map_err(|source| StoreError::Encode {
                        event_type: crate::DomainEvent::event_type(event).to_owned(),
                        source,
                    })?
                    .with_metadata(metadata.clone());
                Ok(match key {
                    Some(key) => new.with_id(key.event_id(stream_id, index)),
                    None => new,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let span = tracing::debug_span!(
            "es.append",
            %stream_id,
            expected_version = before,
            events = new_events.len(),
            trace_id = metadata.trace_context.map(|t| t.trace_id_hex()).as_deref(),
            version = tracing::field::Empty,
            first_position = tracing::field::Empty,
            last_position = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let appended = self
            .store
            .append(stream_id, ExpectedVersion::Exact(before), new_events)
            .instrument(span.clone())
            .await;
        es_telemetry::metrics::append_finished(
            started,
            match &appended {
                Ok(_) => AppendEnd::Committed,
                Err(StoreError::Conflict { .. }) => AppendEnd::Conflict,
                Err(_) => AppendEnd::Failed,
            },
        );
        if let Ok(outcome) = &appended {
            span.record("version", outcome.version);
            if let (Some(first), Some(last)) = (outcome.first_position, outcome.last_position) {
                span.record("first_position", tracing::field::display(first));
                span.record("last_position", tracing::field::display(last));
            }
        }
        appended
    }

    /// The result of `events`, decided on `loaded`, having committed with
    /// `outcome`: folds them, keeps the state warm, and snapshots if the
    /// policy says so.
    pub(super) async fn committed(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        events: Vec<A::Event>,
        outcome: AppendOutcome,
    ) -> Executed<A> {
        let before = loaded.version;
        let after = Loaded::<A> {
            state: A::fold(loaded.state, &events),
            version: outcome.version,
        };
        self.cache.remember(stream_id, &after);
        if let Some((_, policy)) = &self.snapshots {
            if policy.should_snapshot(before, after.version) {
                // The command has committed; a failed snapshot only costs a longer load.
                self.save_snapshot(stream_id, &after).await;
            }
        }
        Executed {
            stream_id: stream_id.clone(),
            events,
            state: after.state,
            version: after.version,
            outcome,
        }
    }

    /// The answer to a command that produced no events: nothing written.
    pub(super) fn nothing_to_append(stream_id: &StreamId, loaded: Loaded<A>) -> Executed<A> {
        Executed {
            stream_id: stream_id.clone(),
            events: Vec::new(),
            state: loaded.state,
            version: loaded.version,
            outcome: AppendOutcome::nothing_written(loaded.version),
        }
    }
}
