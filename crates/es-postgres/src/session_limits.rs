//! Limits every session we open sets on itself, so no wait is unbounded.
//!
//! A process that freezes (`kill -STOP`, a stalled VM) or loses its link
//! while inside a transaction keeps its row locks (and, if it appended to
//! the log, holds back the log's readers) for as long as its session
//! lives. Without limits that is for ever: the server waits for a client
//! that never speaks again, and a client waits for an answer that never
//! comes. [`SessionLimits`] are set, by one `SET` script right after
//! connecting, on every connection the crate opens (store, checkpoint,
//! `LISTEN`/`NOTIFY` and lease connections), so they need no DBA and no role
//! settings. They are not startup options: PgBouncer refuses those
//! (`unsupported startup parameter: options`).
//!
//! * `idle_in_transaction_session_timeout`: the server ends a session that
//!   sits inside a transaction without sending anything, which frees its
//!   locks and its transaction id (a frozen leader's open batch);
//! * `lock_timeout`: a statement waiting for a lock fails instead of waiting
//!   behind such a session (the successor retries);
//! * `statement_timeout`: a backstop for a statement that runs too long;
//! * `tcp_keepalives_*` and `tcp_user_timeout`: the server drops the
//!   connection of a client that vanished or whose link went silent,
//!   whether it is idle (keepalives) or owes it acknowledgements (user
//!   timeout).
//!
//! sqlx 0.9 sets no TCP keepalive on the client's socket, so the client's
//! side of a silent link is bounded by the callers' own timeouts (the lease
//! heartbeat, the leader's stall timeout), not here.
//!
//! A limit already named in the URL's `options` parameter
//! (`?options=-c%20statement_timeout%3D0`) is left to the URL. Through a
//! transaction-mode pooler the `SET`s stay on the server connection that ran
//! them, which other clients of the pooler then share: set the limits on the
//! role or database there (`ALTER ROLE app SET lock_timeout = '5s'`).

use std::{sync::Arc, time::Duration};

use sqlx::{postgres::PgPoolOptions, AssertSqlSafe, Executor, PgConnection};

/// How long a session may sit inside a transaction without sending a
/// statement before the server ends it, by default: 3 s, the time a frozen
/// lease holder keeps its lease (heartbeat interval plus timeout), so the
/// frozen holder's open batch and its row locks end about when its
/// successor takes over.
pub const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a statement may wait for a lock before it fails, by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one statement may run before the server cancels it, by default.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Silence on a connection after which the server sends its first TCP
/// keepalive probe, by default (whole seconds).
pub const DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2);
/// The pause between two keepalive probes, by default (whole seconds).
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Unanswered keepalive probes after which the server drops the
/// connection, by default.
pub const DEFAULT_KEEPALIVE_COUNT: u32 = 2;

/// The limits a session sets on itself; see the module docs. Zero disables
/// a timeout (the server's meaning of `0`).
///
/// ```
/// use std::time::Duration;
/// use es_postgres::SessionLimits;
///
/// let limits = SessionLimits::new()
///     .with_idle_in_transaction_timeout(Duration::from_secs(2))
///     .with_statement_timeout(Duration::ZERO); // no statement timeout
/// let settings = limits.settings();
/// assert!(settings.contains(&("idle_in_transaction_session_timeout", "2000ms".to_owned())));
/// assert!(settings.contains(&("statement_timeout", "0ms".to_owned())));
/// assert!(settings.contains(&("tcp_user_timeout", "4000ms".to_owned())));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    idle_in_transaction: Duration,
    lock: Duration,
    statement: Duration,
    keepalives: Keepalives,
}

/// The server's TCP keepalive settings of a session, and the
/// `tcp_user_timeout` they imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keepalives {
    /// Silence before the first probe (whole seconds).
    pub(crate) idle: Duration,
    /// Pause between probes (whole seconds).
    pub(crate) interval: Duration,
    /// Unanswered probes before the connection is dropped.
    pub(crate) count: u32,
}

impl Keepalives {
    /// `tcp_user_timeout`: data unacknowledged this long drops the
    /// connection; the same bound as the keepalives give an idle one.
    pub(crate) fn user_timeout(&self) -> Duration {
        self.idle + self.interval * self.count
    }

    /// The settings, as (name, value with its unit).
    pub(crate) fn settings(&self) -> [(&'static str, String); 4] {
        [
            ("tcp_keepalives_idle", self.idle.as_secs().to_string()),
            (
                "tcp_keepalives_interval",
                self.interval.as_secs().to_string(),
            ),
            ("tcp_keepalives_count", self.count.to_string()),
            ("tcp_user_timeout", millis(self.user_timeout())),
        ]
    }
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_in_transaction: DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
            lock: DEFAULT_LOCK_TIMEOUT,
            statement: DEFAULT_STATEMENT_TIMEOUT,
            keepalives: Keepalives {
                idle: DEFAULT_KEEPALIVE_IDLE,
                interval: DEFAULT_KEEPALIVE_INTERVAL,
                count: DEFAULT_KEEPALIVE_COUNT,
            },
        }
    }
}

impl SessionLimits {
    /// The defaults: [`DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT`],
    /// [`DEFAULT_LOCK_TIMEOUT`], [`DEFAULT_STATEMENT_TIMEOUT`], keepalives
    /// after [`DEFAULT_KEEPALIVE_IDLE`] every [`DEFAULT_KEEPALIVE_INTERVAL`],
    /// [`DEFAULT_KEEPALIVE_COUNT`] probes (a silent link is dropped after
    /// 4 s).
    pub fn new() -> Self {
        Self::default()
    }

    /// The longest a session may sit inside a transaction without sending a
    /// statement (millisecond precision; zero: no limit). Work that keeps a
    /// transaction open while it waits for something else (a projection
    /// calling another service inside its batch) needs a longer one.
    #[must_use]
    pub fn with_idle_in_transaction_timeout(mut self, timeout: Duration) -> Self {
        self.idle_in_transaction = timeout;
        self
    }

    /// The longest a statement waits for a lock (zero: no limit).
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock = timeout;
        self
    }

    /// The longest one statement may run (zero: no limit).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement = timeout;
        self
    }

    /// The longest a session may sit inside a transaction without a statement.
    pub fn idle_in_transaction_timeout(&self) -> Duration {
        self.idle_in_transaction
    }

    /// The longest a statement waits for a lock.
    pub fn lock_timeout(&self) -> Duration {
        self.lock
    }

    /// The longest a statement may run.
    pub fn statement_timeout(&self) -> Duration {
        self.statement
    }

    /// How long the server takes to drop the connection of a client whose
    /// link went silent (keepalives, or `tcp_user_timeout` while it owes
    /// acknowledgements).
    pub fn silent_link_timeout(&self) -> Duration {
        self.keepalives.user_timeout()
    }

    pub(crate) fn with_keepalives(mut self, keepalives: Keepalives) -> Self {
        self.keepalives = keepalives;
        self
    }

    /// The settings, as (name, value with its unit), in the order they are sent.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            (
                "idle_in_transaction_session_timeout",
                millis(self.idle_in_transaction),
            ),
            ("lock_timeout", millis(self.lock)),
            ("statement_timeout", millis(self.statement)),
        ];
        settings.extend(self.keepalives.settings());
        settings
    }

    /// The `SET` script of these limits, except those the URL's own startup
    /// `options` already name (`None` when nothing is left to set). Only
    /// numbers and the setting names above go into it.
    pub(crate) fn script(&self, url_options: Option<&str>) -> Option<String> {
        let named = url_options.unwrap_or_default();
        let sets: Vec<String> = self
            .settings()
            .into_iter()
            .filter(|(name, _)| !named.contains(&format!("{name}=")))
            .map(|(name, value)| format!("SET {name} = '{value}'"))
            .collect();
        (!sets.is_empty()).then(|| sets.join("; "))
    }
}

/// Pool options whose every new connection first runs `script` (a
/// [`SessionLimits::script`]).
pub(crate) fn pool_options(script: Option<Arc<str>>) -> PgPoolOptions {
    PgPoolOptions::new().after_connect(move |conn, _| {
        let script = script.clone();
        Box::pin(async move { set_up(conn, script.as_deref()).await })
    })
}

/// Runs `script` (a [`SessionLimits::script`]) on `conn`.
pub(crate) async fn set_up(
    conn: &mut PgConnection,
    script: Option<&str>,
) -> Result<(), sqlx::Error> {
    if let Some(script) = script {
        conn.execute(AssertSqlSafe(script.to_owned())).await?;
    }
    Ok(())
}

/// A duration as the server reads it, in whole milliseconds (saturating).
fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis().min(i32::MAX as u128))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;

    #[test]
    fn every_limit_is_set_after_connecting() {
        let script = SessionLimits::new().script(None).expect("a script");
        for expected in [
            "SET idle_in_transaction_session_timeout = '3000ms'",
            "SET lock_timeout = '5000ms'",
            "SET statement_timeout = '30000ms'",
            "SET tcp_keepalives_idle = '2'",
            "SET tcp_keepalives_interval = '1'",
            "SET tcp_keepalives_count = '2'",
            "SET tcp_user_timeout = '4000ms'",
        ] {
            assert!(
                script.contains(expected),
                "{expected} missing from {script}"
            );
        }
    }

    #[test]
    fn a_limit_named_in_the_url_is_left_to_the_url() {
        let options = PgConnectOptions::from_str(
            "postgres://u@localhost/db?options=-c%20statement_timeout%3D0",
        )
        .expect("url");
        let script = SessionLimits::new()
            .script(options.get_options())
            .expect("a script");
        assert!(!script.contains("statement_timeout"), "{script}");
        assert!(script.contains("lock_timeout = '5000ms'"), "{script}");
    }

    #[test]
    fn huge_timeouts_saturate_at_the_server_maximum() {
        let limits = SessionLimits::new().with_statement_timeout(Duration::from_secs(u64::MAX));
        assert!(limits
            .settings()
            .contains(&("statement_timeout", format!("{}ms", i32::MAX))));
    }
}
