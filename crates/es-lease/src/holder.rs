//! Who holds a lease now, as far as its store can tell.
//!
//! Operators ask "which instance runs the relay?" (`es projections`, `es
//! relay status`). Every store knows the holder's name; some know more: a
//! PostgreSQL lease is a database session (its process id, client address
//! and start), a SQLite lease a row with an expiry. [`LeaseHolder`] carries
//! the name and whatever else the store could tell, one shape for all.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The current holder of a lease, from [`LeaseStore::holder`](crate::LeaseStore::holder).
///
/// ```
/// use es_lease::LeaseHolder;
///
/// let holder = LeaseHolder::new("booking@host-1:4242").with_session(4242, Some("10.0.0.7".into()));
/// assert_eq!(holder.holder, "booking@host-1:4242");
/// assert_eq!(holder.to_string(), "booking@host-1:4242 (pid 4242, 10.0.0.7)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LeaseHolder {
    /// The holder the lease was taken for (PostgreSQL: the session's
    /// `application_name`, at most 63 bytes).
    pub holder: String,
    /// Since when it holds the lease, or the start of the session that holds
    /// it (PostgreSQL: `backend_start`), if the store knows.
    pub since: Option<DateTime<Utc>>,
    /// When the lease ends unless renewed, for stores with a time to live.
    pub expires_at: Option<DateTime<Utc>>,
    /// The server process of the holding session, for stores that are sessions.
    pub pid: Option<i32>,
    /// The holding session's client address (`None` over a Unix socket or
    /// when the store has no sessions).
    pub client_addr: Option<String>,
}

impl LeaseHolder {
    /// A holder known only by name.
    pub fn new(holder: impl Into<String>) -> Self {
        Self {
            holder: holder.into(),
            since: None,
            expires_at: None,
            pid: None,
            client_addr: None,
        }
    }

    /// With the time it took the lease (or its session started).
    #[must_use]
    pub fn with_since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// With the time the lease expires unless renewed.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: DateTime<Utc>) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// With the database session holding it.
    #[must_use]
    pub fn with_session(mut self, pid: i32, client_addr: Option<String>) -> Self {
        self.pid = Some(pid);
        self.client_addr = client_addr;
        self
    }
}

/// The name, then what identifies the session or the expiry:
/// `relay-1 (pid 4242, 10.0.0.7)`, `relay-1 (until 12:00:03Z)`.
impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.holder)?;
        let mut details = Vec::new();
        if let Some(pid) = self.pid {
            details.push(format!("pid {pid}"));
        }
        if let Some(addr) = &self.client_addr {
            details.push(addr.clone());
        }
        if let Some(expires_at) = self.expires_at {
            details.push(format!("until {}", expires_at.format("%H:%M:%SZ")));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_name_and_what_the_store_told() {
        assert_eq!(LeaseHolder::new("a").to_string(), "a");
        let expiry = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            LeaseHolder::new("a").with_expires_at(expiry).to_string(),
            "a (until 03:04:05Z)"
        );
        assert_eq!(
            LeaseHolder::new("a").with_session(7, None).to_string(),
            "a (pid 7)"
        );
    }
}
