//! How far the booking read model was behind when a command or a query
//! answered.
//!
//! A command whose events are stored has succeeded, even if the projection
//! could not show them in time: the CLI then prints the command's output,
//! exits 0 and warns on stderr; the HTTP answer carries the lag. A query
//! that could not bring the read model up to everything committed answers
//! from it anyway but says so, instead of answering silently from an old
//! state (the warning line, or the field in JSON).

use std::fmt;

use serde::Serialize;

/// The booking read model did not show every committed event when the
/// answer was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadModelLag {
    /// How many committed events of the log it had not applied yet (`None`
    /// when the event store cannot count them).
    pub events: Option<u64>,
    /// Why: the wait that ran out or the projection's error.
    pub reason: String,
}

impl fmt::Display for ReadModelLag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.events {
            Some(events) => write!(
                f,
                "the booking read model is {events} committed event(s) behind the event store ({})",
                self.reason
            ),
            None => write!(
                f,
                "the booking read model is behind the event store ({})",
                self.reason
            ),
        }
    }
}

/// An answer and, if the read model was behind, by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered<T> {
    /// The command's result or the query's answer.
    pub value: T,
    /// `None` when the read model showed everything committed.
    pub behind: Option<ReadModelLag>,
}

impl<T> Answered<T> {
    /// An answer from a current read model.
    pub fn current(value: T) -> Self {
        Self {
            value,
            behind: None,
        }
    }

    /// The same lag with another value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answered<U> {
        Answered {
            value: f(self.value),
            behind: self.behind,
        }
    }

    /// The one warning line for stderr, if the read model was behind.
    pub fn warning(&self) -> Option<String> {
        self.behind.as_ref().map(|lag| format!("warning: {lag}"))
    }
}
