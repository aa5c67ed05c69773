//! Tags: what an event is about, the key of a consistency boundary.
//!
//! dcb.events selects events by tags (`username:ada`, `course:c1`) rather
//! than by stream, so one event can take part in several boundaries. A tag
//! is plain text under the same rules everywhere, checked where it is built.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{backend::validation::check_text, InputField, InvalidInput};

/// The longest tag, in bytes of UTF-8.
pub const MAX_TAG_BYTES: usize = 256;

/// A tag on an event: non-empty text of at most [`MAX_TAG_BYTES`] bytes
/// without NUL. By convention `key:value` (`course:c1`), which the store
/// does not interpret.
///
/// ```
/// use es_core::dcb::Tag;
/// let tag = Tag::new("course:c1").unwrap();
/// assert_eq!(tag.as_str(), "course:c1");
/// assert!(Tag::new("").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// A tag, checked.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`] naming [`InputField::Tag`]: empty, longer than
    /// [`MAX_TAG_BYTES`], or holding NUL.
    pub fn new(tag: impl Into<String>) -> Result<Self, InvalidInput> {
        let tag = tag.into();
        check_text(InputField::Tag, &tag, MAX_TAG_BYTES)?;
        Ok(Self(tag))
    }

    /// The tag `key:value`, checked as [`Tag::new`].
    ///
    /// # Errors
    ///
    /// As [`Tag::new`].
    pub fn pair(key: &str, value: impl fmt::Display) -> Result<Self, InvalidInput> {
        Self::new(format!("{key}:{value}"))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Tag {
    type Error = InvalidInput;

    fn try_from(tag: String) -> Result<Self, InvalidInput> {
        Self::new(tag)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> String {
        tag.0
    }
}
