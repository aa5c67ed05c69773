//! Reconnect and retry delays.
//!
//! Both the relay and the consumer reconnect after a lost connection, and the
//! consumer retries a failing handler; all of them wait a little longer after
//! each failure, up to a ceiling, so a broker that is down is not hammered.
//! This is the crate's one backoff policy; the delays come from `backon`'s
//! exponential backoff.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::ConfigError;

/// Exponential backoff: `initial`, doubled after each failure, at most `max`.
///
/// ```
/// use es_amqp::Backoff;
/// use std::time::Duration;
/// let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1))?;
/// let delays: Vec<_> = b.delays().take(6).map(|d| d.as_millis()).collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
/// assert!(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
/// # Ok::<(), es_amqp::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// A backoff from `initial` up to `max`; fails if `initial` is above `max`.
    pub fn new(initial: Duration, max: Duration) -> Result<Self, ConfigError> {
        if initial > max {
            return Err(ConfigError::BackoffInverted { initial, max });
        }
        Ok(Self { initial, max })
    }

    /// A backoff the caller knows is valid (`initial <= max`).
    pub(crate) const fn known_valid(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The first delay.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The delays before each retry, endless: `initial`, doubling, capped at `max`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let max = self.max;
        ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(max)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .chain(std::iter::repeat(max))
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 10 s.
    fn default() -> Self {
        Self::known_valid(Duration::from_millis(100), Duration::from_secs(10))
    }
}
