//! How far a follower of the global log (a projection, the relay) is behind.
//!
//! Operators alert and gate readiness on it, so it has one shape for every
//! backend that can measure it.

/// How far a follower of the global log is behind its head.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Lag {
    /// Committed events after the follower's checkpoint.
    pub events: u64,
    /// Age in seconds of the oldest of those events (`0.0` when there is none).
    pub seconds: f64,
}

impl Lag {
    /// Caught up: nothing after the checkpoint.
    pub const NONE: Lag = Lag {
        events: 0,
        seconds: 0.0,
    };

    /// A lag of `events` events, the oldest `seconds` old.
    pub fn new(events: u64, seconds: f64) -> Self {
        Self { events, seconds }
    }

    /// `true` when the follower has applied everything committed.
    pub fn is_caught_up(&self) -> bool {
        self.events == 0
    }
}
