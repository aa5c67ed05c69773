//! Stream identifiers.
//!
//! Every event belongs to exactly one stream, and an aggregate instance owns one
//! stream. A stream id is an opaque, non-empty string; stores keep it verbatim
//! (quotes, unicode and long ids included), so it is a newtype rather than a bare
//! `String` to keep it from being mixed up with event types or payloads.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest stream id a store must accept, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 4096;

/// The id of one event stream, such as `booking-0190b6c2-...`.
///
/// ```
/// use es_core::StreamId;
/// let id = StreamId::new("booking-42").unwrap();
/// assert_eq!(id.as_str(), "booking-42");
/// assert_eq!(StreamId::for_aggregate("booking", "42"), id);
/// assert!(StreamId::new("").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

/// Why a string was refused as a [`StreamId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidStreamId {
    /// The id was empty.
    #[error("a stream id must not be empty")]
    Empty,
    /// The id was longer than [`MAX_STREAM_ID_LEN`] bytes.
    #[error("a stream id must be at most {MAX_STREAM_ID_LEN} bytes, got {0}")]
    TooLong(usize),
    /// The id contained a NUL character, which databases cannot store in text.
    #[error("a stream id must not contain NUL characters")]
    Nul,
}

impl StreamId {
    /// Checks and wraps a stream id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidStreamId> {
        let id = id.into();
        if id.is_empty() {
            Err(InvalidStreamId::Empty)
        } else if id.len() > MAX_STREAM_ID_LEN {
            Err(InvalidStreamId::TooLong(id.len()))
        } else if id.contains('\0') {
            Err(InvalidStreamId::Nul)
        } else {
            Ok(Self(id))
        }
    }

    /// The stream of one aggregate instance: `"{aggregate_type}-{id}"`.
    ///
    /// An aggregate type is a short static name, so this is always a valid id
    /// unless `id` itself contains NUL or is huge, in which case the NUL-free,
    /// truncated remainder still names a distinct stream deterministically.
    pub fn for_aggregate(aggregate_type: &str, id: impl fmt::Display) -> Self {
        let mut s = format!("{aggregate_type}-{id}");
        s.retain(|c| c != '\0');
        if s.len() > MAX_STREAM_ID_LEN {
            let mut cut = MAX_STREAM_ID_LEN;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        Self(s)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the first `-`: the aggregate id of a stream made by
    /// [`StreamId::for_aggregate`].
    pub fn aggregate_id(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(_, id)| id)
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
    type Error = InvalidStreamId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for StreamId {
    type Error = InvalidStreamId;
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
