//! The small aggregate the suite runs commands on.

use serde::{Deserialize, Serialize};

use crate::{Aggregate, DomainEvent};

/// The suite's test aggregate: a counter.
pub struct Counter;

/// Events of [`Counter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CounterEvent {
    /// The counter went up.
    Incremented {
        /// By how much.
        by: i64,
    },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> &'static str {
        "Incremented"
    }
    fn schema_version(&self) -> u32 {
        2
    }
}

/// Commands of [`Counter`].
#[derive(Debug, Clone)]
pub enum CounterCommand {
    /// Add to the counter.
    Increment(i64),
}

/// Refusals of [`Counter`].
#[derive(Debug, thiserror::Error)]
#[error("the counter refuses negative increments")]
pub struct NegativeIncrement;

impl Aggregate for Counter {
    const TYPE: &'static str = "counter";
    type State = i64;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = NegativeIncrement;

    fn handle(_: &i64, command: CounterCommand) -> Result<Vec<CounterEvent>, NegativeIncrement> {
        match command {
            CounterCommand::Increment(by) if by < 0 => Err(NegativeIncrement),
            CounterCommand::Increment(by) => Ok(vec![CounterEvent::Incremented { by }]),
        }
    }

    fn apply(state: i64, event: &CounterEvent) -> i64 {
        match event {
            CounterEvent::Incremented { by } => state + by,
        }
    }
}
