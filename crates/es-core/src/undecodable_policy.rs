//! What a reader of the global log does with a stored event it cannot decode.
//!
//! Retrying is pointless (a [`StoreError::Decode`](crate::StoreError::Decode)
//! is never transient), so a [`Subscription`](crate::Subscription) or a
//! [`ProjectionRunner`](crate::ProjectionRunner) either stops or skips.

/// What to do with a stored event that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UndecodablePolicy {
    /// Return the [`StoreError::Decode`](crate::StoreError::Decode) and stop
    /// before the event (the default): the position, and a projection's
    /// checkpoint, stay before it, so nothing is lost once the data is fixed.
    #[default]
    Stop,
    /// Log the event (stream, version, type, position) at error level and
    /// move past it: the position, and a projection's checkpoint, move beyond
    /// it, so the event is never delivered. Only events whose error carries
    /// their [position](crate::DecodeError::position) can be skipped; any
    /// other decode error still stops.
    Skip,
}
