//! The name a caller gives one command so that sending it again does not
//! apply it twice.
//!
//! When an append's reply is lost (a connection reset after the commit), the
//! caller cannot tell whether the command took effect, and sending it again
//! with fresh event ids would write its events a second time. With a key, the
//! command's event ids are derived from the stream, the key and the event's
//! index (UUID v5), so the re-sent command carries the same ids: the store's
//! idempotent append recognises them, and the repository recognises them
//! among the events it loads.

use std::{fmt, str::FromStr};

use uuid::Uuid;

use crate::backend::{limits::MAX_IDEMPOTENCY_KEY_BYTES, validation::check_name};
use crate::{InputField, InvalidInput, StreamId};

/// The UUID v5 namespace of event ids derived from idempotency keys (fixed:
/// changing it would stop re-sent commands from being recognised).
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3bc7_0074_003f_4a84_a5b8_56f3_5786_e4d4);

/// A caller-chosen name for one command: non-empty, at most
/// [`MAX_IDEMPOTENCY_KEY_BYTES`] bytes of UTF-8, no NUL.
///
/// Give the same key when sending the same command again (after a timeout or
/// a [transient](crate::StoreError::is_transient) error), and a new key for a
/// new command: a key already used on an aggregate answers with the outcome
/// of the command first sent with it. A key names a command within its
/// aggregate's stream only: the same key on two streams names two commands.
///
/// ```
/// use es_core::{IdempotencyKey, InputField, InvalidInput, StreamId};
///
/// let key = IdempotencyKey::new("order-7/request-42").unwrap();
/// let stream = StreamId::new("door-1").unwrap();
/// // The same key, stream and index always give the same event id.
/// assert_eq!(key.event_id(&stream, 0), IdempotencyKey::new("order-7/request-42").unwrap().event_id(&stream, 0));
/// assert_ne!(key.event_id(&stream, 0), key.event_id(&stream, 1));
///
/// assert_eq!(
///     IdempotencyKey::new(""),
///     Err(InvalidInput::Empty { field: InputField::IdempotencyKey })
/// );
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A key, or [`InvalidInput`] naming [`InputField::IdempotencyKey`] when
    /// `key` is empty, longer than [`MAX_IDEMPOTENCY_KEY_BYTES`] or holds NUL.
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidInput> {
        let key = key.into();
        check_name(InputField::IdempotencyKey, &key, MAX_IDEMPOTENCY_KEY_BYTES)?;
        Ok(Self(key))
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the `index`th event (from 0) that the keyed command appends
    /// to `stream_id`: a UUID v5 of the stream, the key and the index.
    pub fn event_id(&self, stream_id: &StreamId, index: usize) -> Uuid {
        // Stream ids hold no NUL, and the index has a fixed width at the end,
        // so distinct (stream, key, index) give distinct names.
        let stream = stream_id.as_str().as_bytes();
        let mut name = Vec::with_capacity(stream.len() + 1 + self.0.len() + 8);
        name.extend_from_slice(stream);
        name.push(0);
        name.extend_from_slice(self.0.as_bytes());
        name.extend_from_slice(&(index as u64).to_be_bytes());
        Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
    }
}

impl From<Uuid> for IdempotencyKey {
    /// A key from a client-generated UUID (its hyphenated form).
    fn from(id: Uuid) -> Self {
        Self(id.hyphenated().to_string())
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidInput;
    fn try_from(key: String) -> Result<Self, InvalidInput> {
        Self::new(key)
    }
}

impl TryFrom<&str> for IdempotencyKey {
    type Error = InvalidInput;
    fn try_from(key: &str) -> Result<Self, InvalidInput> {
        Self::new(key)
    }
}

impl FromStr for IdempotencyKey {
    type Err = InvalidInput;
    fn from_str(key: &str) -> Result<Self, InvalidInput> {
        Self::new(key)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}
