//! The trait a read model implements to be fed from the global log.

use async_trait::async_trait;

use crate::{BoxError, ProjectionError, RecordedEvent};

/// A read model built from events.
#[async_trait]
pub trait Projection<Tx: Send>: Send + Sync {
    /// A stable name: the key of the checkpoint.
    fn name(&self) -> &str;

    /// Applies one event inside `tx`. Ignore events you do not care about.
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), BoxError>;

    /// Applies one batch of events, in log order, inside `tx`: everything the
    /// runner commits together with one checkpoint.
    ///
    /// The default calls [`apply`](Self::apply) for each event. Override it
    /// to write a batch in fewer statements (fold the events per row, then
    /// one multi-row upsert): one database round trip per event is what
    /// bounds a projection's catch-up speed. Fail with
    /// [`ProjectionError::Apply`] (naming the event, as the default does) or
    /// [`ProjectionError::Backend`]; either rolls the whole batch back.
    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(tx, event)
                .await
                .map_err(|source| ProjectionError::Apply {
                    projection: self.name().to_owned(),
                    stream_id: event.stream_id.to_string(),
                    version: event.version,
                    event_type: event.event_type.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Deletes everything this projection wrote, inside `tx` (for rebuilds).
    async fn reset(&self, tx: &mut Tx) -> Result<(), BoxError> {
        let _ = tx;
        Ok(())
    }
}
