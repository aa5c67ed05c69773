//! Append conditions: the consistency check an append makes atomically.
//!
//! A decision was taken on what a read of some query returned up to a head
//! position; the condition makes the append fail if any event matching that
//! query was stored after it, so no decision is recorded on stale facts.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Position;

use super::Query;

/// "Fail if any event matching `fail_if_events_match` is stored after
/// `after`" (every matching event when `after` is `None`).
///
/// `after` is the [`head`](super::QueryRead::head) of the read the decision
/// was taken on (or the position of an event that read returned): a head
/// means "everything up to here was considered", and only a read's head
/// promises that no event at or before it can still commit later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendCondition {
    /// The query whose matching events make the append fail.
    pub fail_if_events_match: Query,
    /// Only events after this position count; `None`: every event.
    pub after: Option<Position>,
}

impl AppendCondition {
    /// Fail if any event matching `query` is stored after `after`.
    pub fn new(query: Query, after: Option<Position>) -> Self {
        Self {
            fail_if_events_match: query,
            after,
        }
    }
}

impl fmt::Display for AppendCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no event matching {}", self.fail_if_events_match)?;
        match self.after {
            Some(after) => write!(f, " after {after}"),
            None => f.write_str(" at all"),
        }
    }
}
