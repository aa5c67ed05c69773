//! Events with tags, on the way in and on the way out.
//!
//! dcb.events events are what the store already records plus tags; these
//! two types carry the tags beside the existing envelopes instead of
//! changing them, so stream code keeps working unchanged.

use serde::{Deserialize, Serialize};

use crate::{DomainEvent, NewEvent, RecordedEvent, StoreError};

use super::Tag;

/// The most tags one event carries.
pub const MAX_TAGS_PER_EVENT: usize = 32;

/// An event to append, with its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedEvent {
    /// The event as the stream API appends it (id, type, payload, metadata).
    pub event: NewEvent,
    /// What the event is about; duplicates are stored once.
    pub tags: Vec<Tag>,
}

impl TaggedEvent {
    /// `event` with `tags`.
    pub fn new(event: NewEvent, tags: impl IntoIterator<Item = Tag>) -> Self {
        let mut tags: Vec<Tag> = tags.into_iter().collect();
        tags.sort();
        tags.dedup();
        Self { event, tags }
    }

    /// Encodes a domain event (see [`NewEvent::from_domain`]) with `tags`.
    ///
    /// # Errors
    ///
    /// As [`NewEvent::from_domain`].
    pub fn from_domain<E: DomainEvent>(
        event: &E,
        tags: impl IntoIterator<Item = Tag>,
    ) -> Result<Self, StoreError> {
        Ok(Self::new(NewEvent::from_domain(event)?, tags))
    }
}

/// A stored event with its tags, as a query read returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequencedEvent {
    /// The event with its stream, version and global position.
    pub event: RecordedEvent,
    /// Its tags, sorted.
    pub tags: Vec<Tag>,
}

/// What [`DcbStore::read_query`](super::DcbStore::read_query) returns.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRead {
    /// The matching events, in global-log order.
    pub events: Vec<SequencedEvent>,
    /// How far the read looked: pass it as an
    /// [`AppendCondition::after`](super::AppendCondition::after) to mean
    /// "nothing matching changed since this read". The last returned event
    /// when the limit cut the result; otherwise the last event of the whole
    /// log the read could see; `None` for an empty log. No event at or
    /// before it can commit after the read.
    pub head: Option<crate::Position>,
}

impl QueryRead {
    /// The answer of a read by query that returned `events` (matching,
    /// after `after`, at most `limit` of them) from a log whose last settled
    /// event was `log_head`: the head is the last returned event when the
    /// limit cut the result, else `log_head`, and never before `after`.
    pub fn new(
        events: Vec<SequencedEvent>,
        after: Option<crate::Position>,
        log_head: Option<crate::Position>,
        limit: Option<usize>,
    ) -> Self {
        let cut = limit.is_some_and(|limit| events.len() >= limit);
        let head = if cut {
            events.last().map(|e| e.event.position).max(after)
        } else {
            log_head.max(after)
        };
        QueryRead { events, head }
    }
}
