//! Stream identifiers.
//!
//! Every event belongs to exactly one stream, and an aggregate instance owns one
//! stream. A stream id is an opaque, non-empty string; stores keep it verbatim
//! (quotes, unicode and ids up to the limit included), so it is a newtype rather than a bare
//! `String` to keep it from being mixed up with event types or payloads.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::backend::{
    limits::{MAX_CATEGORY_BYTES, MAX_STREAM_ID_BYTES},
    validation::{check_name, check_routable, check_stream_id},
};
use crate::{InputField, InvalidInput};

/// The id of one event stream, such as `booking-0190b6c2-...`.
///
/// Limits (see [`limits`](crate::backend::limits)): 1 to
/// [`MAX_STREAM_ID_BYTES`] bytes, no NUL, and a category (the part before the
/// first `-`, or the whole id without one) of at most [`MAX_CATEGORY_BYTES`]
/// without `.`, `*` or `#` (see
/// [`ROUTING_KEY_RESERVED`](crate::backend::limits::ROUTING_KEY_RESERVED)).
/// Nothing is ever normalised: a refused id is an error, never a silently
/// different stream.
///
/// ```
/// use es_core::StreamId;
/// let id = StreamId::new("booking-42").unwrap();
/// assert_eq!(id.as_str(), "booking-42");
/// assert_eq!(StreamId::for_aggregate("booking", "42").unwrap(), id);
/// assert_eq!((id.category(), id.aggregate_id()), ("booking", Some("42")));
/// assert_eq!(StreamId::new("booking").unwrap().aggregate_id(), None);
/// assert!(StreamId::new("").is_err());
/// assert!(StreamId::new("shop.order-1").is_err());
/// assert!(StreamId::for_aggregate("booking", "a\0b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

impl StreamId {
    /// Checks and wraps a stream id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidInput> {
        let id = id.into();
        check_stream_id(&id)?;
        Ok(Self(id))
    }

    /// The stream of one aggregate instance: `"{aggregate_type}-{id}"`.
    ///
    /// Injective: distinct `(aggregate_type, id)` pairs give distinct stream
    /// ids, and [`category`](Self::category) and
    /// [`aggregate_id`](Self::aggregate_id) give back exactly what was passed.
    /// So the aggregate type must be 1 to [`MAX_CATEGORY_BYTES`] bytes without
    /// `-`, NUL, `.`, `*` or `#`, and the id must have no NUL and keep the whole within
    /// [`MAX_STREAM_ID_BYTES`]; anything else is refused, never trimmed.
    pub fn for_aggregate(
        aggregate_type: &str,
        id: impl fmt::Display,
    ) -> Result<Self, InvalidInput> {
        check_name(InputField::Category, aggregate_type, MAX_CATEGORY_BYTES)?;
        if aggregate_type.contains('-') {
            return Err(InvalidInput::ForbiddenCharacter {
                field: InputField::Category,
                character: '-',
            });
        }
        check_routable(InputField::Category, aggregate_type)?;
        let whole = format!("{aggregate_type}-{id}");
        if whole[aggregate_type.len() + 1..].contains('\0') {
            return Err(InvalidInput::Nul {
                field: InputField::AggregateId,
            });
        }
        if whole.len() > MAX_STREAM_ID_BYTES {
            return Err(InvalidInput::TooLong {
                field: InputField::StreamId,
                len: whole.len(),
                max: MAX_STREAM_ID_BYTES,
            });
        }
        Ok(Self(whole))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the first `-`: the aggregate id of a stream made by
    /// [`StreamId::for_aggregate`]; `None` for an id without `-` (a stream
    /// that is a category of its own), so that `(category, aggregate_id)`
    /// names exactly one stream: `"booking"` is `("booking", None)`,
    /// `"booking-"` is `("booking", Some(""))`.
    pub fn aggregate_id(&self) -> Option<&str> {
        self.0.split_once('-').map(|(_, id)| id)
    }

    /// The part before the first `-`: the aggregate type (category).
    pub fn category(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(c, _)| c)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for StreamId {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for StreamId {
    type Error = InvalidInput;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> Self {
        id.0
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
