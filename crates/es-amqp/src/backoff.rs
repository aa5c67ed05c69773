//! Reconnect and retry delays.
//!
//! Both the relay and the consumer reconnect after a lost connection, and the
//! consumer retries a failing handler; all of them wait a little longer after
//! each failure, up to a ceiling, so a broker that is down is not hammered.

use std::time::Duration;

/// Exponential backoff: `initial`, doubled after each failure, at most `max`.
///
/// ```
/// use es_amqp::Backoff;
/// use std::time::Duration;
/// let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(b.delay(0), Duration::from_millis(100));
/// assert_eq!(b.delay(2), Duration::from_millis(400));
/// assert_eq!(b.delay(30), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `initial` up to `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay before retry number `failures` (0-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 10 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}
