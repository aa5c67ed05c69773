//! The in-memory store's [`DcbStore`] implementation: the condition check
//! and the append run under the one lock, so they are trivially atomic.

use async_trait::async_trait;

use crate::dcb::{
    validate_tagged_append, AppendCondition, DcbStore, Query, QueryRead, SequencedEvent,
    TaggedEvent,
};
use crate::{AppendOutcome, ExpectedVersion, Position, StoreError, StreamId};

use super::{
    event_store::{append_locked, previous_append_of},
    InMemoryStore, Inner,
};

impl Inner {
    /// Whether the event at log `index` matches `query`.
    fn matches(&self, index: usize, query: &Query) -> bool {
        let tags = self.tags.get(&index).map_or(&[][..], Vec::as_slice);
        query.matches(&self.log[index].event_type, tags)
    }

    /// The first log index after `after`.
    fn start_after(&self, after: Option<Position>) -> usize {
        after.map_or(0, |after| self.log.partition_point(|e| e.position <= after))
    }
}

#[async_trait]
impl DcbStore for InMemoryStore {
    async fn read_query(
        &self,
        query: &Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<QueryRead, StoreError> {
        query.validate()?;
        let inner = self.lock();
        let limit = limit.unwrap_or(usize::MAX);
        let mut events = Vec::new();
        for index in inner.start_after(after)..inner.log.len() {
            if !inner.matches(index, query) {
                continue;
            }
            if events.len() == limit {
                let head = events.last().map(|e: &SequencedEvent| e.event.position);
                return Ok(QueryRead { events, head });
            }
            events.push(SequencedEvent {
                event: inner.read(index)?,
                tags: inner.tags.get(&index).cloned().unwrap_or_default(),
            });
        }
        let log_head = inner.log.last().map(|e| e.position);
        Ok(QueryRead {
            events,
            head: log_head.max(after),
        })
    }

    async fn append_tagged(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<TaggedEvent>,
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        let (events, tags) = validate_tagged_append(stream_id, events, condition)?;
        let mut inner = self.lock();
        if let Some(condition) = condition {
            let start = inner.start_after(condition.after);
            let first_match = (start..inner.log.len())
                .find(|&index| inner.matches(index, &condition.fail_if_events_match));
            if let Some(index) = first_match {
                if let Some(outcome) = previous_append_of(&inner, stream_id, &events)? {
                    return Ok(outcome);
                }
                return Err(StoreError::AppendConditionFailed {
                    condition: Box::new(condition.clone()),
                    first_match: inner.log[index].position,
                });
            }
        }
        let first = inner.log.len();
        let outcome = append_locked(&mut inner, stream_id, expected, events)?;
        if outcome.resent || outcome.last_position.is_none() {
            return Ok(outcome);
        }
        for (offset, tags) in tags.into_iter().enumerate() {
            if !tags.is_empty() {
                inner.tags.insert(first + offset, tags);
            }
        }
        drop(inner);
        self.appended.send_replace(());
        Ok(outcome)
    }
}
