//! Connection settings of a PostgreSQL event store or checkpoint store.
//!
//! Settings come from a URL (`postgres://user:password@host:5432/db?sslmode=require`)
//! plus the schema name and pool size. The URL may carry a password, so this
//! type never prints it: its `Debug` output and every error built from it show
//! the URL with the password replaced by `***`.

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::{session_limits, PostgresError, SchemaName, SessionLimits};

/// The default number of pooled connections.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// How long acquiring a pooled connection may take before failing.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pooled connection idle this long is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The shortest pause between two `NOTIFY`s a store sends to wake
/// subscribers in other processes; see [`PostgresConfig::with_notify_interval`].
pub const DEFAULT_NOTIFY_INTERVAL: Duration = Duration::from_millis(5);

/// Where and how to connect.
///
/// ```
/// use es_postgres::PostgresConfig;
/// let config = PostgresConfig::new("postgres://app:s3cret@db.internal/events")
///     .with_schema("booking")
///     .unwrap()
///     .with_pool_size(4);
/// let shown = format!("{config:?}");
/// assert!(shown.contains("postgres://app:***@db.internal/events"));
/// assert!(!shown.contains("s3cret"));
/// assert!(config.clone().with_schema("x; DROP TABLE y").is_err());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    url: String,
    schema: SchemaName,
    pool_size: u32,
    acquire_timeout: Duration,
    notify_interval: Duration,
    session_limits: SessionLimits,
}

impl PostgresConfig {
    /// Settings for `url`, schema `es`, [`DEFAULT_POOL_SIZE`] connections.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: SchemaName::default(),
            pool_size: DEFAULT_POOL_SIZE,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            notify_interval: DEFAULT_NOTIFY_INTERVAL,
            session_limits: SessionLimits::default(),
        }
    }

    /// Uses the schema `schema` (validated: see [`SchemaName`]).
    pub fn with_schema(
        mut self,
        schema: impl TryInto<SchemaName, Error = crate::InvalidSchemaName>,
    ) -> Result<Self, PostgresError> {
        self.schema = schema.try_into()?;
        Ok(self)
    }

    /// Uses an already validated schema name.
    #[must_use]
    pub fn with_schema_name(mut self, schema: SchemaName) -> Self {
        self.schema = schema;
        self
    }

    /// The maximum number of pooled connections (at least 1).
    #[must_use]
    pub fn with_pool_size(mut self, pool_size: u32) -> Self {
        self.pool_size = pool_size.max(1);
        self
    }

    /// How long acquiring a connection may take before an operation fails.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The shortest pause between two `NOTIFY`s that wake subscribers in
    /// other processes (default [`DEFAULT_NOTIFY_INTERVAL`]).
    ///
    /// After a quiet spell the first append notifies at once; appends within
    /// the interval after a `NOTIFY` share the next one, sent when the
    /// interval ends. Each `NOTIFY` is a transaction of its own, so without
    /// this limit a busy store spends much of its CPU on them. Subscribers
    /// in the same process are woken at every append regardless.
    /// `Duration::ZERO` notifies as often as one `NOTIFY` at a time allows.
    #[must_use]
    pub fn with_notify_interval(mut self, interval: Duration) -> Self {
        self.notify_interval = interval;
        self
    }

    /// The limits every connection opened with this config sets on its
    /// session (default [`SessionLimits::new`]): see [`SessionLimits`].
    #[must_use]
    pub fn with_session_limits(mut self, limits: SessionLimits) -> Self {
        self.session_limits = limits;
        self
    }

    /// The limits every session sets on itself.
    pub fn session_limits(&self) -> &SessionLimits {
        &self.session_limits
    }

    /// The notify interval.
    pub fn notify_interval(&self) -> Duration {
        self.notify_interval
    }

    /// The schema name.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// The pool size.
    pub fn pool_size(&self) -> u32 {
        self.pool_size
    }

    /// The URL with any password replaced by `***` (safe to log).
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The parsed connection options.
    pub fn connect_options(&self) -> Result<PgConnectOptions, PostgresError> {
        PgConnectOptions::from_str(&self.url).map_err(|source| PostgresError::InvalidUrl {
            url: self.redacted_url(),
            reason: describe_without_secrets(&source, &self.url),
        })
    }

    /// The `SET` script of the [`SessionLimits`] every connection runs after
    /// connecting (those the URL's `options` do not name already).
    pub(crate) fn session_script(&self) -> Result<Option<Arc<str>>, PostgresError> {
        let options = self.connect_options()?;
        Ok(self
            .session_limits
            .script(options.get_options())
            .map(Arc::from))
    }

    /// Opens a connection pool (connecting once to check the settings).
    pub async fn connect_pool(&self) -> Result<PgPool, PostgresError> {
        let options = self.connect_options()?;
        let script = self.session_script()?;
        // One direct connection first: a pool only reports "timed out" when
        // the server is unreachable, a direct connection says why (and so
        // does a server that refuses a session limit).
        let mut probe = PgConnection::connect_with(&options)
            .await
            .map_err(|source| self.connect_error(source))?;
        session_limits::set_up(&mut probe, script.as_deref())
            .await
            .map_err(|source| self.connect_error(source))?;
        if let Err(error) = probe.close().await {
            tracing::debug!(%error, "closing the probe connection failed");
        }
        session_limits::pool_options(script)
            .max_connections(self.pool_size)
            .acquire_timeout(self.acquire_timeout)
            // sqlx pings every connection it hands out (a round trip before
            // each append); ping only those idle long enough to have died
            // unnoticed. A connection that breaks in use fails that one
            // operation and is dropped, as it would with the ping.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| self.connect_error(source))
    }

    pub(crate) fn connect_error(&self, source: sqlx::Error) -> PostgresError {
        let mut reason = describe_without_secrets(&source, &self.url);
        // sqlx ends a server's error with the server's own source line
        // (` at line 948`: a place in PostgreSQL's C code), which nobody
        // connecting can act on.
        if let sqlx::Error::Database(error) = &source {
            let server_line = error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|error| error.line());
            if let Some(line) = server_line {
                reason = reason.replace(&format!(" at line {line}"), "");
            }
        }
        PostgresError::Connect {
            url: self.redacted_url(),
            reason,
        }
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.redacted_url())
            .field("schema", &self.schema.as_str())
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("notify_interval", &self.notify_interval)
            .field("session_limits", &self.session_limits)
            .finish()
    }
}

/// A driver error as text, with any password of `url` masked in case the
/// driver echoed it.
fn describe_without_secrets(error: &dyn std::error::Error, url: &str) -> String {
    let mut text = error.to_string();
    for secret in es_telemetry::url_passwords(url) {
        if !secret.is_empty() {
            text = text.replace(&secret, "***");
        }
    }
    text
}

/// The workspace's one URL redaction, re-exported: the password of a
/// connection URL becomes `***`, in the user info and in a `password=` query
/// parameter (see [`es_telemetry::redact_url`]).
pub use es_telemetry::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        for url in [
            "postgres://user:hunter2@localhost:5432/db",
            "postgres://user:hunter2@localhost/db?sslmode=require",
            "postgres://localhost/db?user=u&password=hunter2",
            "postgresql://user:hunter2@[::1]:5432/db",
        ] {
            let config = PostgresConfig::new(url);
            let shown = format!("{config:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn url_without_password_is_unchanged() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(redact_url(url), url);
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn invalid_url_error_hides_the_password() {
        let config = PostgresConfig::new("postgres://user:hunter2@localhost:notaport/db");
        let error = config.connect_options().expect_err("bad port");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
