//! How often the repository decides a conflicting command again.

use std::time::Duration;

/// How often a conflicting command is decided again on fresh state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Pause before each retry, multiplied by the retry number.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// No retries: a conflict is returned to the caller (the default).
    pub const fn none() -> Self {
        Self {
            max_attempts: 1,
            backoff: Duration::ZERO,
        }
    }

    /// Up to `max_attempts` attempts in all, with a short linear backoff.
    pub const fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            backoff: Duration::from_millis(2),
        }
    }

    /// The same policy with another pause before each retry (multiplied by
    /// the retry number).
    #[must_use]
    pub const fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::none()
    }
}
