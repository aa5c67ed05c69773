//! The contract of a store that keeps Dynamic Consistency Boundaries.
//!
//! Every guarantee of a dcb.events store is stated on [`DcbStore`], once;
//! the in-memory, SQLite and PostgreSQL stores implement it and the
//! conformance suite (`testing` feature) checks each guarantee on each.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    backend::validate_append, AppendOutcome, EventStore, ExpectedVersion, InputField, InvalidInput,
    NewEvent, Position, StoreError, StreamId,
};

use super::{AppendCondition, Query, QueryRead, Tag, TaggedEvent, MAX_TAGS_PER_EVENT};

/// The category of the streams [`DcbStore::append_events`] writes: each
/// batch is stream `dcb-<first event id>`.
pub const DCB_CATEGORY: &str = "dcb";

/// A store of tagged events with append conditions (dcb.events).
///
/// * [`read_query`](DcbStore::read_query) returns the events matching a
///   [`Query`] after a position, in global-log order, and a
///   [`head`](QueryRead::head): no event at or before the head can commit
///   after the read (reads see only the gap-safe part of the log).
/// * [`append_tagged`](DcbStore::append_tagged) is atomic: it checks the
///   stream's [`ExpectedVersion`] and the [`AppendCondition`] and writes the
///   events with their tags, or writes nothing. A failed condition is
///   [`StoreError::AppendConditionFailed`] naming the condition and the
///   first matching event's position. Of N appends whose conditions each
///   match the others' events, racing from the same head, exactly one
///   commits; appends whose conditions match none of each other's events
///   never fail each other (no false conflicts from unrelated writes).
/// * Idempotent: a batch re-sent with the same event ids after it committed
///   returns the original outcome ([`AppendOutcome::resent`]), even though
///   its own events now match its condition.
/// * Events appended through [`EventStore::append`] carry no tags and are
///   matched by type; every query item with types only sees them. (On
///   PostgreSQL, a plain append inside a caller's transaction that already
///   wrote something can land before a conditional append it waited for;
///   see `docs/adr/dcb-append-conditions.md`.)
#[async_trait]
pub trait DcbStore: EventStore {
    /// The events matching `query` after `after` (from the start when
    /// `None`), in global-log order, at most `limit` (all when `None`).
    async fn read_query(
        &self,
        query: &Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<QueryRead, StoreError>;

    /// Appends `events` with their tags to `stream_id` if the stream is at
    /// `expected` and `condition` (if any) holds, atomically.
    async fn append_tagged(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<TaggedEvent>,
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError>;

    /// The specification's `append(events, condition)`: the batch becomes
    /// stream `dcb-<first event id>` (so a re-send with the same ids finds
    /// it), and the condition alone decides. Returns the outcome, whose
    /// [`last_position`](AppendOutcome::last_position) is the batch's.
    async fn append_events(
        &self,
        events: Vec<TaggedEvent>,
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        let Some(first) = events.first() else {
            return Err(InvalidInput::Empty {
                field: InputField::Events,
            }
            .into());
        };
        let stream_id = batch_stream(first.event.event_id)?;
        self.append_tagged(&stream_id, ExpectedVersion::NoStream, events, condition)
            .await
    }
}

/// The stream of a batch appended by [`DcbStore::append_events`].
fn batch_stream(first: Uuid) -> Result<StreamId, StoreError> {
    Ok(StreamId::new(format!("{DCB_CATEGORY}-{first}"))?)
}

/// The rules every backend applies to a tagged append before touching its
/// data: the stream append's ([`validate_append`]), at most
/// [`MAX_TAGS_PER_EVENT`] tags per event, and the condition's query within
/// [`Query::validate`]'s limits. Returns the events and, apart, their tags.
///
/// # Errors
///
/// [`StoreError::InvalidInput`] naming what broke which limit.
pub fn validate_tagged_append(
    stream_id: &StreamId,
    events: Vec<TaggedEvent>,
    condition: Option<&AppendCondition>,
) -> Result<(Vec<NewEvent>, Vec<Vec<Tag>>), StoreError> {
    if let Some(condition) = condition {
        condition.fail_if_events_match.validate()?;
    }
    let mut plain = Vec::with_capacity(events.len());
    let mut tags = Vec::with_capacity(events.len());
    for event in events {
        if event.tags.len() > MAX_TAGS_PER_EVENT {
            return Err(InvalidInput::TooLarge {
                field: InputField::Tags,
                value: event.tags.len() as u64,
                max: MAX_TAGS_PER_EVENT as u64,
            }
            .into());
        }
        plain.push(event.event);
        tags.push(event.tags);
    }
    validate_append(stream_id, &plain)?;
    Ok((plain, tags))
}
