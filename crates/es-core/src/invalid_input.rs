//! Why input was refused before reaching a store.
//!
//! A matchable error instead of a sentence: each variant names the field and
//! the limit from [`limits`](crate::backend::limits) it broke, so callers (and tests)
//! can tell a too-long event type from a NUL in the metadata.

use std::fmt;

use uuid::Uuid;

/// The part of an append (or of a stream id) that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputField {
    /// The whole stream id.
    StreamId,
    /// The category (aggregate type): the part of a stream id before its first `-`.
    Category,
    /// The aggregate id given to [`StreamId::for_aggregate`](crate::StreamId::for_aggregate).
    AggregateId,
    /// An event's type name.
    EventType,
    /// An event's schema version.
    SchemaVersion,
    /// An event's JSON payload.
    Payload,
    /// An event's metadata.
    Metadata,
    /// A command's [`IdempotencyKey`](crate::IdempotencyKey).
    IdempotencyKey,
    /// A projection's name, the key of its checkpoint.
    ProjectionName,
    /// An inbox consumer's name, the key of what it has processed.
    ConsumerName,
    /// A relay's name: its checkpoint's and its connection's name.
    RelayName,
    /// A lease's name.
    LeaseName,
    /// A lease holder's name.
    LeaseHolder,
    /// A [`Tag`](crate::dcb::Tag).
    Tag,
    /// The number of tags on one event.
    Tags,
    /// A [`Query`](crate::dcb::Query): its items, or one item's types or tags.
    Query,
    /// The events of an append.
    Events,
}

impl fmt::Display for InputField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputField::StreamId => "stream id",
            InputField::Category => "category (aggregate type)",
            InputField::AggregateId => "aggregate id",
            InputField::EventType => "event type",
            InputField::SchemaVersion => "schema version",
            InputField::Payload => "payload",
            InputField::Metadata => "metadata",
            InputField::IdempotencyKey => "idempotency key",
            InputField::ProjectionName => "projection name",
            InputField::ConsumerName => "consumer name",
            InputField::RelayName => "relay name",
            InputField::LeaseName => "lease name",
            InputField::LeaseHolder => "lease holder",
            InputField::Tag => "tag",
            InputField::Tags => "number of tags on an event",
            InputField::Query => "query",
            InputField::Events => "events of the append",
        })
    }
}

/// Input refused before anything was written. Never transient: sending the
/// same input again is refused again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// The field must not be empty.
    #[error("the {field} must not be empty")]
    Empty {
        /// What was empty.
        field: InputField,
    },
    /// A name is only whitespace.
    #[error("the {field} must not be blank")]
    Blank {
        /// What was blank.
        field: InputField,
    },
    /// The field is longer than its limit (bytes of UTF-8, or of serialised JSON).
    #[error("the {field} is {len} bytes, over the limit of {max} bytes")]
    TooLong {
        /// What was too long.
        field: InputField,
        /// Its length in bytes (for JSON: at least this many; counting stops past the limit).
        len: usize,
        /// The limit, from [`limits`](crate::backend::limits).
        max: usize,
    },
    /// JSON nested deeper than [`MAX_JSON_DEPTH`](crate::backend::limits::MAX_JSON_DEPTH).
    #[error("the {field} nests arrays and objects {depth} deep, over the limit of {max}")]
    TooDeep {
        /// The payload or the metadata.
        field: InputField,
        /// The depth found (counting stops one past the limit).
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The field contains NUL (U+0000), which PostgreSQL text and jsonb cannot hold.
    #[error("the {field} contains a NUL character (U+0000), which no store can hold")]
    Nul {
        /// Where the NUL was.
        field: InputField,
    },
    /// The field contains a character it must not: a `-` in an aggregate
    /// type (it would make stream ids ambiguous), one of
    /// [`ROUTING_KEY_RESERVED`](crate::backend::limits::ROUTING_KEY_RESERVED) in a
    /// category or event type (it would make routing keys ambiguous), or a
    /// control character in a name (see [`check_name`](crate::backend::check_name)).
    #[error("the {field} must not contain {character:?}")]
    ForbiddenCharacter {
        /// What contained it.
        field: InputField,
        /// The refused character.
        character: char,
    },
    /// A number above its limit.
    #[error("the {field} is {value}, over the limit of {max}")]
    TooLarge {
        /// What was too large.
        field: InputField,
        /// The value given.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A typed value JSON cannot carry as it is: a NaN or infinite float, or
    /// a `Some` of something written as `null` (`Some(None)`, `Some(())`).
    /// serde_json would write `null`, which reads back as another value
    /// (`None`) or not at all, so it is refused wherever it sits (nested, in
    /// an `Option`, a map, a newtype, the extra metadata) when the value is
    /// encoded. Nothing was written.
    #[error(
        "the {field} holds {value} at {}, which JSON cannot carry: it would be written as null and read back as another value",
        path_or_whole(.path)
    )]
    NotRepresentable {
        /// The payload or the metadata.
        field: InputField,
        /// Where in the typed value: `Measured.readings[2]`,
        /// `limits["max"]`, `extra.ratio`; empty for the value itself.
        path: String,
        /// What: `NaN`, `inf`, `-inf` or `Some(null)`.
        value: &'static str,
    },
    /// One event id appears twice in one batch.
    #[error("event id {event_id} appears twice in one batch")]
    DuplicateEventIdInBatch {
        /// The repeated id.
        event_id: Uuid,
    },
}

impl InvalidInput {
    /// The field that was refused (`None` for a repeated id in a batch).
    pub fn field(&self) -> Option<InputField> {
        match self {
            InvalidInput::Empty { field }
            | InvalidInput::Blank { field }
            | InvalidInput::TooLong { field, .. }
            | InvalidInput::TooDeep { field, .. }
            | InvalidInput::Nul { field }
            | InvalidInput::ForbiddenCharacter { field, .. }
            | InvalidInput::TooLarge { field, .. }
            | InvalidInput::NotRepresentable { field, .. } => Some(*field),
            InvalidInput::DuplicateEventIdInBatch { .. } => None,
        }
    }
}

/// A path for a message: the path, or "the top level" for the value itself.
fn path_or_whole(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}
