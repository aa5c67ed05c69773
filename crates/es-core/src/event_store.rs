//! The event store contract.
//!
//! Every backend (in-memory, SQLite, PostgreSQL) implements [`EventStore`] and
//! keeps the guarantees listed on it (the project's `docs/architecture.md`
//! explains why they are what they are); the conformance suite in
//! [`testing`](crate::testing) checks each one. Code above this trait (the
//! repository, subscriptions, projections, the RabbitMQ relay) never needs to
//! know which backend it runs on.

use async_trait::async_trait;
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use tokio::sync::watch;

use crate::{
    ExpectedVersion, NewEvent, Position, RecordedEvent, ReplayEvent, StoreError, StreamId,
};

/// What an append wrote (or, for an idempotent re-send, had already written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The stream's version after the append (its last event's version).
    pub version: u64,
    /// The first appended event's global position (`None` for an empty batch).
    pub first_position: Option<Position>,
    /// The last appended event's global position (`None` for an empty batch).
    pub last_position: Option<Position>,
    /// Whether the store wrote nothing because every event id of the batch
    /// was already recorded, in this stream, at these versions (an exact
    /// re-send, see [`previous_append`](crate::backend::previous_append)): the
    /// outcome is then the earlier append's, and the events recorded are the
    /// earlier ones, whatever the re-sent batch held.
    pub resent: bool,
}

impl AppendOutcome {
    /// The outcome of an empty batch on a stream at `version`: nothing
    /// written, so no positions.
    pub fn nothing_written(version: u64) -> Self {
        Self {
            version,
            first_position: None,
            last_position: None,
            resent: false,
        }
    }
}

/// The contract every event store keeps.
///
/// * [`append`](EventStore::append) is atomic (all events of the batch or
///   none), checks the [`ExpectedVersion`], and is idempotent by event id:
///   re-sending a batch whose ids are already recorded at the same versions
///   returns the original outcome without writing.
/// * [`read_stream`](EventStore::read_stream) yields one stream in version
///   order; [`replay_stream`](EventStore::replay_stream) the same events with
///   only what rebuilding an aggregate needs.
/// * Per-stream order: a stream's versions are 1, 2, 3, … with no holes
///   (the append numbers them), and in the global log a stream's events
///   appear in version order: version `n + 1` always has a greater
///   [`Position`] than version `n`. A backend that cannot guarantee it for
///   an append refuses that append ([`StoreError::TransactionTooOld`],
///   transient) rather than store it out of order.
/// * [`read_all`](EventStore::read_all) pages through the global log in
///   position order and is gap-free: it never skips an event that commits
///   late; once a page has returned position `p`, no event with a position
///   `<= p` can appear later.
/// * Every store accepts and refuses the same input: `append` calls
///   [`validate_append`](crate::backend::validate_append) first, so a value over a
///   [limit](crate::backend::limits) (or holding NUL) is a
///   [`StoreError::InvalidInput`] with nothing written, and a value at a
///   limit reads back verbatim.
/// * Values read back exactly as written, numbers included: every finite
///   `f64` and every `u64`/`i64` comes back as an equal
///   [`serde_json::Value`] (negative zero may come back as zero).
/// * A stored event that cannot be decoded is a [`StoreError::Decode`]
///   naming its stream, version, type and (from `read_all`) position.
/// * [`append_notifications`](EventStore::append_notifications) wakes
///   subscribers; [`Subscription`](crate::Subscription) builds catch-up-then-live
///   on these two.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream_id` if the stream is at `expected`.
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Reads `stream_id` from version `from_version` (inclusive) on, in version
    /// order, streaming rows as they arrive. An unknown stream yields nothing.
    fn read_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>>;

    /// [`read_stream`](EventStore::read_stream) for rebuilding an aggregate:
    /// the same events in the same order, each with its version, type,
    /// schema version and payload only. The default maps `read_stream`;
    /// stores override it to skip reading the other fields.
    fn replay_stream<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<ReplayEvent, StoreError>> {
        self.read_stream(stream_id, from_version)
            .map_ok(ReplayEvent::from)
            .boxed()
    }

    /// Reads at most `limit` events of the global log after `after`, in
    /// position order. An empty page means "nothing committed after `after`
    /// is visible yet".
    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The stream's last version, `0` when it has no events.
    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError>;

    /// A signal that changes after events may have been appended. Stores that
    /// cannot observe other processes fire on their own appends only;
    /// subscriptions also poll slowly as a safety net.
    fn append_notifications(&self) -> watch::Receiver<()>;

    /// How many committed events of the global log lie after `after`, for
    /// progress reports
    /// (the target of a catch-up). `None` when this store cannot count (the
    /// default). Costs in proportion to the answer: ask once per catch-up,
    /// not per event.
    async fn count_after(&self, after: Position) -> Result<Option<u64>, StoreError> {
        let _ = after;
        Ok(None)
    }
}
