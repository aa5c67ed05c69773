//! Settings of PostgreSQL leases: heartbeat, connect timeout, TCP keepalives.
//!
//! The defaults aim at a takeover within 5 s of a holder's death: a killed
//! process's connection closes at once and its lock is free; a holder
//! cut off from the server misses a heartbeat within
//! `heartbeat_interval + heartbeat_timeout` (3 s) and steps down; a client
//! machine that vanishes is noticed by the server after
//! `keepalive_idle + keepalive_interval * keepalive_count` (4 s), which frees
//! its lock; a holder that stalls with its socket open (a stopped process)
//! has its session ended by the server after
//! `heartbeat_interval + heartbeat_timeout` without a heartbeat (3 s,
//! PostgreSQL 14 and newer).

use std::time::Duration;

use es_lease::LeaseError;

use crate::session_limits::Keepalives;

/// The default pause between two heartbeats of a held lease.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// The default time a heartbeat may take before the lease counts as lost.
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default time opening a lease connection may take.
pub const DEFAULT_LEASE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default namespace hashed into every lock key.
pub const DEFAULT_LEASE_NAMESPACE: &str = "es-lease";

/// Settings of [`PostgresLeases`](crate::PostgresLeases).
///
/// ```
/// use std::time::Duration;
/// use es_postgres::PostgresLeaseConfig;
///
/// let config = PostgresLeaseConfig::new()
///     .with_heartbeat(Duration::from_millis(500), Duration::from_secs(1))?
///     .with_keepalives(Duration::from_secs(3), Duration::from_secs(1), 3)?;
/// assert_eq!(config.heartbeat_interval(), Duration::from_millis(500));
/// // Keepalives are whole seconds on the server.
/// assert!(config.with_keepalives(Duration::from_millis(1500), Duration::from_secs(1), 3).is_err());
/// # Ok::<(), es_lease::LeaseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresLeaseConfig {
    namespace: String,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    connect_timeout: Duration,
    keepalive_idle: Duration,
    keepalive_interval: Duration,
    keepalive_count: u32,
}

impl Default for PostgresLeaseConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_LEASE_NAMESPACE.to_owned(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            connect_timeout: DEFAULT_LEASE_CONNECT_TIMEOUT,
            keepalive_idle: Duration::from_secs(2),
            keepalive_interval: Duration::from_secs(1),
            keepalive_count: 2,
        }
    }
}

const MILLI: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

impl PostgresLeaseConfig {
    /// The defaults (see the module docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// The namespace hashed with each lease name into the lock key, so
    /// applications sharing a database do not share locks (checked like a
    /// lease name; default [`DEFAULT_LEASE_NAMESPACE`]).
    #[must_use = "the builder returns the new config"]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Result<Self, LeaseError> {
        let namespace = namespace.into();
        es_lease::check_lease_name(&namespace)?;
        self.namespace = namespace;
        Ok(self)
    }

    /// A heartbeat (`SELECT 1` on the lease's connection) every `interval`;
    /// one that fails or takes longer than `timeout` loses the lease. Both
    /// from 1 ms to 1 hour.
    #[must_use = "the builder returns the new config"]
    pub fn with_heartbeat(
        mut self,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Self, LeaseError> {
        self.heartbeat_interval =
            LeaseError::check_setting("heartbeat interval", interval, MILLI, HOUR)?;
        self.heartbeat_timeout =
            LeaseError::check_setting("heartbeat timeout", timeout, MILLI, HOUR)?;
        Ok(self)
    }

    /// How long opening a lease connection may take (1 ms to 1 hour).
    #[must_use = "the builder returns the new config"]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Result<Self, LeaseError> {
        self.connect_timeout = LeaseError::check_setting("connect timeout", timeout, MILLI, HOUR)?;
        Ok(self)
    }

    /// The server's TCP keepalives on lease connections, so it frees the
    /// lock of a client that vanished without closing its connection: the
    /// first probe after `idle` of silence, then every `interval`, the
    /// connection dropped after `count` unanswered probes. Also sets
    /// `tcp_user_timeout` to `idle + interval * count`. Whole seconds from
    /// 1 s to 1 hour; `count` from 1 to 100.
    #[must_use = "the builder returns the new config"]
    pub fn with_keepalives(
        mut self,
        idle: Duration,
        interval: Duration,
        count: u32,
    ) -> Result<Self, LeaseError> {
        self.keepalive_idle = whole_seconds("keepalive idle", idle)?;
        self.keepalive_interval = whole_seconds("keepalive interval", interval)?;
        if !(1..=100).contains(&count) {
            return Err(LeaseError::InvalidSetting {
                setting: "keepalive count",
                value: Duration::from_secs(u64::from(count)),
                reason: format!("{count} probes; must be between 1 and 100"),
            });
        }
        self.keepalive_count = count;
        Ok(self)
    }

    /// The lock key namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pause between two heartbeats.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// The longest a heartbeat may take.
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat_timeout
    }

    /// The longest opening a lease connection may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The silence after which the server ends a lease session: one
    /// heartbeat interval plus its timeout, in milliseconds.
    pub(crate) fn stall_timeout_ms(&self) -> i64 {
        let stall = self.heartbeat_interval + self.heartbeat_timeout;
        i64::try_from(stall.as_millis()).unwrap_or(i64::MAX)
    }

    /// The server's keepalives of a lease connection.
    pub(crate) fn keepalives(&self) -> Keepalives {
        Keepalives {
            idle: self.keepalive_idle,
            interval: self.keepalive_interval,
            count: self.keepalive_count,
        }
    }
}

fn whole_seconds(setting: &'static str, value: Duration) -> Result<Duration, LeaseError> {
    let value = LeaseError::check_setting(setting, value, SECOND, HOUR)?;
    if value.subsec_nanos() != 0 {
        return Err(LeaseError::InvalidSetting {
            setting,
            value,
            reason: "must be whole seconds (the server's unit)".to_owned(),
        });
    }
    Ok(value)
}
