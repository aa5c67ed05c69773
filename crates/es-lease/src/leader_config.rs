//! Settings of the leader/standby loop, with a validated builder.

use std::time::Duration;

use crate::LeaseError;

/// How often a standby tries to take the lease, by default.
pub const DEFAULT_LEASE_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// How long one attempt to take the lease may last, by default.
pub const DEFAULT_LEASE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a leader's work may hold work in hand without progress before
/// the leader deposes itself, by default.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of a [`Leader`](crate::Leader).
///
/// ```
/// use std::time::Duration;
/// use es_lease::LeaderConfig;
///
/// let config = LeaderConfig::new()
///     .with_retry_interval(Duration::from_millis(250))?
///     .with_acquire_timeout(Duration::from_secs(2))?;
/// assert_eq!(config.retry_interval(), Duration::from_millis(250));
/// assert!(LeaderConfig::new().with_retry_interval(Duration::ZERO).is_err());
/// # Ok::<(), es_lease::LeaseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaderConfig {
    retry_interval: Duration,
    acquire_timeout: Duration,
    stop_grace: Duration,
    stall_timeout: Duration,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        Self {
            retry_interval: DEFAULT_LEASE_RETRY_INTERVAL,
            acquire_timeout: DEFAULT_LEASE_ACQUIRE_TIMEOUT,
            stop_grace: Duration::ZERO,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

impl LeaderConfig {
    /// The defaults: [`DEFAULT_LEASE_RETRY_INTERVAL`], [`DEFAULT_LEASE_ACQUIRE_TIMEOUT`],
    /// [`DEFAULT_STALL_TIMEOUT`], no stop grace.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pause between two attempts of a standby to take the lease (from
    /// 1 ms to 1 hour). Takeover after the holder dies is the store's
    /// detection time plus up to this.
    #[must_use = "the builder returns the new config"]
    pub fn with_retry_interval(mut self, interval: Duration) -> Result<Self, LeaseError> {
        self.retry_interval = LeaseError::check_setting(
            "retry interval",
            interval,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        Ok(self)
    }

    /// The longest one attempt to take the lease may last (from 1 ms to
    /// 1 hour); a store that does not answer in time counts as a failed
    /// attempt and the standby tries again.
    #[must_use = "the builder returns the new config"]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Result<Self, LeaseError> {
        self.acquire_timeout = LeaseError::check_setting(
            "acquire timeout",
            timeout,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        Ok(self)
    }

    /// How long work that is asked to stop (its lease was lost, or the
    /// leader is shutting down) may take to return before it is dropped (at
    /// most 1 hour; default zero: dropped at once). Work sees the request
    /// through [`LeaseInfo::stopping`](crate::LeaseInfo::stopping); at
    /// shutdown the lease is released after the work returned.
    #[must_use = "the builder returns the new config"]
    pub fn with_stop_grace(mut self, grace: Duration) -> Result<Self, LeaseError> {
        self.stop_grace = LeaseError::check_setting(
            "stop grace",
            grace,
            Duration::ZERO,
            Duration::from_secs(3600),
        )?;
        Ok(self)
    }

    /// How long work may hold work in hand without progress (as its
    /// [`Liveness`](es_core::Liveness) reports it) before the leader deposes
    /// itself: it drops the work, releases the lease and waits this long
    /// again before competing, so a healthy standby takes over (from 10 ms
    /// to 1 hour; default [`DEFAULT_STALL_TIMEOUT`]). Work that reports no
    /// liveness is never deposed. Choose it above the longest batch a
    /// healthy worker takes.
    #[must_use = "the builder returns the new config"]
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Result<Self, LeaseError> {
        self.stall_timeout = LeaseError::check_setting(
            "stall timeout",
            timeout,
            Duration::from_millis(10),
            Duration::from_secs(3600),
        )?;
        Ok(self)
    }

    /// How long work may be stuck before the leader deposes itself.
    pub fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// How long work asked to stop may take to return.
    pub fn stop_grace(&self) -> Duration {
        self.stop_grace
    }

    /// The pause between two attempts to take the lease.
    pub fn retry_interval(&self) -> Duration {
        self.retry_interval
    }

    /// The longest one attempt to take the lease may last.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }
}
