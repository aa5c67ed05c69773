//! The role of one instance for one lease name, as shown on `/health`.

use chrono::{DateTime, Utc};

/// What this instance is doing for a lease name, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Waiting to take the lease; another instance may hold it.
    Standby {
        /// When this instance became a standby.
        since: DateTime<Utc>,
    },
    /// Holding the lease and running the work.
    Leader {
        /// When this instance took the lease.
        since: DateTime<Utc>,
    },
    /// Stepped down because its work made no progress within the stall
    /// timeout; competes again once the stall timeout has passed once more.
    Deposed {
        /// When this instance stepped down.
        since: DateTime<Utc>,
    },
    /// Not competing any more: shut down, or the work finished.
    Stopped {
        /// When this instance stopped.
        since: DateTime<Utc>,
    },
}

impl Role {
    /// Since when the instance has had this role.
    pub fn since(&self) -> DateTime<Utc> {
        match self {
            Role::Standby { since }
            | Role::Leader { since }
            | Role::Deposed { since }
            | Role::Stopped { since } => *since,
        }
    }

    /// Whether this instance holds the lease.
    pub fn is_leader(&self) -> bool {
        matches!(self, Role::Leader { .. })
    }

    /// `"standby"`, `"leader"`, `"deposed"` or `"stopped"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Standby { .. } => "standby",
            Role::Leader { .. } => "leader",
            Role::Deposed { .. } => "deposed",
            Role::Stopped { .. } => "stopped",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} since {}", self.as_str(), self.since().to_rfc3339())
    }
}
