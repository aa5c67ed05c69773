//! What a writer believes about a stream before appending to it.
//!
//! Optimistic concurrency: every append states the version it expects, and the
//! store refuses the append with [`StoreError::Conflict`](crate::StoreError::Conflict)
//! when the stream has moved on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The expected state of a stream for an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version (no concurrency check).
    Any,
    /// The stream must not exist yet (have no events).
    NoStream,
    /// The stream must exist (have at least one event).
    StreamExists,
    /// The stream's last version must be exactly this (`0` means "no events").
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `current` (`0` = no events) satisfies this.
    pub fn is_satisfied_by(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::StreamExists => current > 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }

    /// The one version this expectation allows, when there is one:
    /// `Exact(v)` allows `v`, `NoStream` allows `0`; `Any` and
    /// `StreamExists` allow many.
    pub fn single_version(self) -> Option<u64> {
        match self {
            ExpectedVersion::Exact(v) => Some(v),
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Any | ExpectedVersion::StreamExists => None,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}
