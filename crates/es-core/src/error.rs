//! Errors of the event store contract.
//!
//! One enum a caller can match on: a conflict is not a crash, bad stored data
//! names the event it came from, and backend failures keep their source.

use uuid::Uuid;

use crate::{dcb::AppendCondition, ExpectedVersion, InvalidInput, Position, StreamId};

/// A boxed error from a backend or a user callback.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors returned by an [`EventStore`](crate::EventStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream was not at the expected version; nothing was written.
    #[error("concurrency conflict on stream {stream_id}: expected {expected}, but the stream is at version {actual}")]
    Conflict {
        /// The stream appended to.
        stream_id: StreamId,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's actual last version (0 = no events).
        actual: u64,
    },
    /// An event id of the batch is already recorded elsewhere (another stream,
    /// or another version); nothing was written.
    #[error("event id {event_id} is already recorded in stream {existing_stream} at version {existing_version}")]
    DuplicateEventId {
        /// The clashing id.
        event_id: Uuid,
        /// Where the id is already recorded.
        existing_stream: StreamId,
        /// At which version.
        existing_version: u64,
    },
    /// A stored event cannot be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An event could not be encoded to JSON; nothing was written.
    #[error("cannot encode event {event_type}: {source}")]
    Encode {
        /// The event type that failed to encode.
        event_type: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The input broke a [limit](crate::backend::limits) and was refused before
    /// reaching the store; nothing was written.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// The backend (database, network) failed. The append may be retried: an
    /// append is idempotent by event id. Transient.
    #[error("event store backend error: {0}")]
    Backend(#[source] BoxError),
    /// An append inside a transaction the caller controls (a backend's
    /// `append_in`) was refused because that transaction took its place in
    /// the global log (its commit key, a PostgreSQL transaction id) before
    /// the transaction that wrote the stream's last event: its events would
    /// come before that event in the global log, out of version order.
    /// Nothing was written; the caller's transaction is still usable.
    ///
    /// Transient: roll the transaction back and do the work again in a new
    /// one, which takes a newer place (and meets the stream's current
    /// version, or a [`Conflict`](StoreError::Conflict)).
    #[error("the transaction appending to stream {stream_id} took its place in the global log ({transaction}) before the stream's last event was written ({last_write}); its events would come before that event, so nothing was written: retry in a new transaction")]
    TransactionTooOld {
        /// The stream appended to.
        stream_id: StreamId,
        /// The commit key of the caller's transaction.
        transaction: u64,
        /// The commit key of the stream's last event.
        last_write: u64,
    },
    /// A [`DcbStore`](crate::dcb::DcbStore) append's condition failed: an
    /// event matching its query was stored after its position. Nothing was
    /// written. Not transient: read the query again and decide again.
    #[error("append condition failed: expected {condition}, but an event matching it is stored at {first_match}; nothing was written")]
    AppendConditionFailed {
        /// The condition that failed.
        condition: Box<AppendCondition>,
        /// The position of the first event that matches it.
        first_match: Position,
    },
    /// The store cannot keep its guarantees on this database until an
    /// operator repairs it, such as a PostgreSQL database restored into
    /// another cluster whose stored transaction ids lie ahead of the
    /// cluster's. The source is the backend's typed error, which names what
    /// it found and the repair. Nothing was written.
    ///
    /// Never transient: every retry fails the same way until the repair.
    #[error("the event store needs repair: {0}")]
    NeedsRepair(#[source] BoxError),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        StoreError::Backend(error.into())
    }

    /// Whether sending the same request again may succeed.
    ///
    /// True for [`Backend`](StoreError::Backend) (an unreachable database, a
    /// dropped connection) and for
    /// [`TransactionTooOld`](StoreError::TransactionTooOld) (the same work in
    /// a new transaction succeeds). Data errors ([`Decode`](StoreError::Decode),
    /// [`Encode`](StoreError::Encode), [`InvalidInput`](StoreError::InvalidInput),
    /// [`DuplicateEventId`](StoreError::DuplicateEventId)) are never transient:
    /// retrying them fails the same way, and neither is
    /// [`NeedsRepair`](StoreError::NeedsRepair). A
    /// [`Conflict`](StoreError::Conflict) is not transient either: decide
    /// again on fresh state instead.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Backend(_) | StoreError::TransactionTooOld { .. }
        )
    }

    /// Whether an append condition failed
    /// ([`AppendConditionFailed`](StoreError::AppendConditionFailed)).
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, StoreError::AppendConditionFailed { .. })
    }

    /// Whether this is an optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// Why a stored event could not be turned into a domain event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeFailure {
    /// The payload does not match the event type's current shape.
    #[error("payload does not decode: {0}")]
    Payload(#[source] serde_json::Error),
    /// An upcaster failed to read the old payload.
    #[error("upcasting from schema version {from} failed: {source}")]
    Upcast {
        /// The schema version the upcaster started from.
        from: u32,
        /// What went wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The upcasters do not bring the stored schema version to exactly the
    /// current one: a step is missing on the way (`reached < current`: the
    /// missing step is `reached` → `reached + 1`), the event was written by
    /// newer code (`stored > current`), or the steps lead past the current
    /// version (`reached > current`). Decoding the payload anyway could give
    /// a silently wrong event. The [`DecodeError`] around it names the type.
    #[error("{}", schema_version_gap(*stored, *reached, *current))]
    SchemaVersionGap {
        /// The schema version the payload was stored at.
        stored: u32,
        /// Where the registered steps got it to (the missing step starts here).
        reached: u32,
        /// The event type's current schema version, which decoding needs.
        current: u32,
    },
    /// Nobody knows this event type.
    #[error("unknown event type")]
    UnknownType,
    /// Stored metadata or envelope fields are malformed.
    #[error("malformed envelope: {0}")]
    Envelope(String),
}

/// The message of [`DecodeFailure::SchemaVersionGap`].
fn schema_version_gap(stored: u32, reached: u32, current: u32) -> String {
    if stored > current {
        format!(
            "schema version {stored} is newer than the current version {current} \
             (written by newer code?)"
        )
    } else if reached < current {
        format!(
            "no upcaster from schema version {reached} to {}: the chain from stored \
             version {stored} stops short of the current version {current}",
            reached.saturating_add(1)
        )
    } else {
        format!(
            "the upcasters take schema version {stored} to {reached}, past the current \
             version {current}"
        )
    }
}

/// A stored event could not be decoded. Names the stream, version and type,
/// and (when the store knows it) the event's place in the global log, which
/// lets a [`Subscription`](crate::Subscription) skip it under
/// [`UndecodablePolicy::Skip`](crate::UndecodablePolicy::Skip).
///
/// Never transient: reading the same event again fails the same way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("cannot decode event {event_type} (schema v{schema_version}) at {stream_id} version {version}: {failure}")]
pub struct DecodeError {
    /// The event's stream.
    pub stream_id: StreamId,
    /// The event's version in its stream.
    pub version: u64,
    /// The stored event type name.
    pub event_type: String,
    /// The stored schema version.
    pub schema_version: u32,
    /// The event's position in the global log, when known.
    pub position: Option<Position>,
    /// What went wrong.
    #[source]
    pub failure: DecodeFailure,
}

impl DecodeError {
    /// An error about the event at `version` of `stream_id`.
    pub fn new(
        stream_id: StreamId,
        version: u64,
        event_type: impl Into<String>,
        schema_version: u32,
        failure: DecodeFailure,
    ) -> Self {
        Self {
            stream_id,
            version,
            event_type: event_type.into(),
            schema_version,
            position: None,
            failure,
        }
    }

    /// Records the event's global position (stores know it when reading the log).
    #[must_use]
    pub fn with_position(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }
}
