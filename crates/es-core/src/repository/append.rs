//! Turning decided events into an append, and the snapshot that may follow.

use crate::{
    Aggregate, AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, Snapshot,
    StoreError, StreamId,
};

use tracing::Instrument;

use super::{ExecuteError, Executed, Loaded, Repository};

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    pub(super) async fn decide_and_append(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        command: A::Command,
        metadata: &Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let events = A::handle(&loaded.state, command).map_err(ExecuteError::Rejected)?;
        self.append_decided(stream_id, loaded, events, metadata)
            .await
    }

    pub(super) async fn append_decided(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        events: Vec<A::Event>,
        metadata: &Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let before = loaded.version;
        if events.is_empty() {
            return Ok(Executed {
                stream_id: stream_id.clone(),
                events,
                state: loaded.state,
                version: before,
                outcome: AppendOutcome::nothing_written(before),
            });
        }
        let new_events = events
            .iter()
            .map(|event| {
                NewEvent::from_domain(event)
                    .map(|e| e.with_metadata(metadata.clone()))
                    .map_err(|source| StoreError::Encode {
                        event_type: crate::DomainEvent::event_type(event).to_owned(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
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
        crate::metrics::append_finished(started, &appended);
        if let Ok(outcome) = &appended {
            span.record("version", outcome.version);
            if let (Some(first), Some(last)) = (outcome.first_position, outcome.last_position) {
                span.record("first_position", tracing::field::display(first));
                span.record("last_position", tracing::field::display(last));
            }
        }
        let outcome = appended?;
        let state = A::fold(loaded.state, &events);
        let executed: Executed<A> = Executed {
            stream_id: stream_id.clone(),
            events,
            state,
            version: outcome.version,
            outcome,
        };
        self.cache.remember(
            stream_id,
            &Loaded::<A> {
                state: executed.state.clone(),
                version: executed.version,
            },
        );
        self.maybe_snapshot(stream_id, before, &executed).await;
        Ok(executed)
    }

    async fn maybe_snapshot(&self, stream_id: &StreamId, before: u64, executed: &Executed<A>) {
        let Some((snapshots, policy)) = &self.snapshots else {
            return;
        };
        if !policy.should_snapshot(before, executed.version) {
            return;
        }
        let state = match serde_json::to_value(&executed.state) {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%stream_id, %error, "cannot serialize state for a snapshot");
                return;
            }
        };
        let snapshot = Snapshot {
            stream_id: stream_id.clone(),
            version: executed.version,
            state,
        };
        // The command has committed; a failed snapshot only costs a longer load.
        if let Err(error) = snapshots.save_snapshot(snapshot).await {
            tracing::warn!(%stream_id, %error, "saving a snapshot failed");
        }
    }
}
