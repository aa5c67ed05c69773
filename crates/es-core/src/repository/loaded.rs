//! What the repository hands back: an aggregate's state at a version, and
//! the result of a committed command.

use std::fmt;

use crate::{Aggregate, AppendOutcome, StreamId};

/// An aggregate's state at a version.
pub struct Loaded<A: Aggregate> {
    /// The folded state.
    pub state: A::State,
    /// The stream version the state includes (`0` = new aggregate).
    pub version: u64,
}

impl<A: Aggregate> Clone for Loaded<A> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            version: self.version,
        }
    }
}

impl<A: Aggregate> fmt::Debug for Loaded<A>
where
    A::State: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("state", &self.state)
            .field("version", &self.version)
            .finish()
    }
}

/// The result of a committed command.
pub struct Executed<A: Aggregate> {
    /// The aggregate's stream.
    pub stream_id: StreamId,
    /// The events the command produced, as committed.
    pub events: Vec<A::Event>,
    /// The state after the events.
    pub state: A::State,
    /// The stream version after the events.
    pub version: u64,
    /// Where the events landed in the global log (use it to wait for
    /// projections: read-your-writes).
    pub outcome: AppendOutcome,
}

impl<A: Aggregate> fmt::Debug for Executed<A>
where
    A::State: fmt::Debug,
    A::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executed")
            .field("stream_id", &self.stream_id)
            .field("events", &self.events)
            .field("state", &self.state)
            .field("version", &self.version)
            .field("outcome", &self.outcome)
            .finish()
    }
}
