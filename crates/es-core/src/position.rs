//! Positions in the global log.
//!
//! A subscriber follows the global log from a checkpoint, so positions must be
//! totally ordered *in commit order*. A bare sequence number is not enough on a
//! database with concurrent writers (a sequence value is taken at insert time but
//! becomes visible at commit), so a position has two parts: a commit-order key
//! (for example a PostgreSQL transaction id) and a sequence number that orders
//! events within it. Stores with a single writer use the same number for both.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A point in the global log, ordered by `(commit, sequence)`.
///
/// [`Position::START`] lies before every event; a subscription "after START"
/// receives the whole log.
///
/// ```
/// use es_core::Position;
/// assert!(Position::START < Position::new(1, 1));
/// assert!(Position::new(7, 100) < Position::new(8, 3));
/// assert_eq!(Position::new(7, 100).to_string(), "7/100");
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    /// Commit-order key: events of later-committed appends have larger keys.
    pub commit: u64,
    /// Orders events that share a commit key; unique across the whole log.
    pub sequence: u64,
}

impl Position {
    /// The position before the first event.
    pub const START: Position = Position {
        commit: 0,
        sequence: 0,
    };

    /// A position from its two parts.
    pub const fn new(commit: u64, sequence: u64) -> Self {
        Self { commit, sequence }
    }

    /// A position of a single-writer store, where commit order is sequence order.
    pub const fn from_sequence(sequence: u64) -> Self {
        Self {
            commit: sequence,
            sequence,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.commit, self.sequence)
    }
}
