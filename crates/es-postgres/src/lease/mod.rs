//! Leases on PostgreSQL: session advisory locks on dedicated connections.
//!
//! A lease is `pg_try_advisory_lock(key)` taken on a connection of its own
//! (never from a pool: the lock belongs to the session, and a pooled
//! connection would carry it to another user). The lock lives exactly as long
//! as the session, so PostgreSQL itself frees it when the holder releases it,
//! closes the connection, or dies: a `kill -9` closes the socket and frees
//! the lock at once; a client machine that vanishes is caught by the TCP
//! keepalives set on the session (see [`PostgresLeaseConfig::with_keepalives`]).
//! The holder sends a heartbeat (`SELECT 1`) every
//! [`PostgresLeaseConfig::heartbeat_interval`]; one that fails or times out
//! means the session (and the lock) may be gone, and the lease is lost. A
//! holder that stalls (stopped, starved) while its machine keeps the socket
//! open is caught by the server too: from PostgreSQL 14 the lease session
//! has `idle_session_timeout` set to `heartbeat_interval + heartbeat_timeout`,
//! so the server ends a session that sent no heartbeat for that long and
//! frees its lock; the stalled holder learns it at its next heartbeat.
//!
//! ## The lock key
//!
//! `key = hashtextextended('<namespace>:<name>', 0)`: PostgreSQL's stable
//! 64-bit text hash (the one hash partitioning relies on), in the single
//! `bigint` key space, which never meets the two-`int4` keys of the
//! migration runner. Two different names share a key with a chance of about
//! `n² / 2⁶⁵` for `n` names (under 3·10⁻¹² for ten thousand names); a
//! collision only makes the two names wait for each other, it never gives
//! one name two holders.
//!
//! ## Who holds what
//!
//! The lease connection's `application_name` is set to the holder (cut to
//! 63 bytes, the server's limit), so operators see the holders, with the
//! session's pid, client address and start, through
//! [`LeaseStore::holder`] (`es projections` shows them) or:
//!
//! ```sql
//! SELECT a.application_name AS holder, a.client_addr, a.backend_start
//! FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
//! WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
//!   AND ((l.classid::bigint << 32) | l.objid::bigint)
//!       = hashtextextended('es-lease:booking-relay', 0);
//! ```
//!
//! Leases need PostgreSQL 12 or newer (`tcp_user_timeout`) and a direct
//! connection or a session-mode pooler: a transaction-mode pooler (PgBouncer
//! `pool_mode = transaction`) breaks session advisory locks.

mod advisory_lock;
mod config;

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use es_lease::{
    check_lease_holder, check_lease_name, Lease, LeaseError, LeaseHolder, LeaseStore, Renewal,
};
use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};
use tokio::{sync::Mutex, time::Instant};

use crate::{session_limits, PostgresConfig, PostgresError};
use advisory_lock::AdvisoryLock;

pub use config::{
    PostgresLeaseConfig, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_LEASE_CONNECT_TIMEOUT, DEFAULT_LEASE_NAMESPACE,
};

/// Leases held as PostgreSQL advisory locks. Cheap to clone; clones share
/// the idle connection standbys retry on.
///
/// ```
/// use es_lease::LeaseStore;
/// use es_postgres::{PostgresConfig, PostgresLeaseConfig, PostgresLeases};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let url = std::env::var("DATABASE_URL")
///     .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
/// let leases = PostgresLeases::new(PostgresConfig::new(url), PostgresLeaseConfig::new())?;
/// # let name = format!("doc-relay-{}", uuid::Uuid::new_v4().simple());
/// let lease = leases.try_acquire(&name, "instance-1").await?.expect("nobody holds it");
/// assert!(leases.try_acquire(&name, "instance-2").await?.is_none());
/// let holder = leases.holder(&name).await?.expect("held");
/// assert_eq!(holder.holder, "instance-1");
/// assert!(holder.pid.is_some() && holder.since.is_some());
/// lease.release().await?;
/// assert_eq!(leases.holder(&name).await?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PostgresLeases {
    inner: Arc<Inner>,
}

struct Inner {
    config: PostgresConfig,
    options: PgConnectOptions,
    /// The session limits' `SET` script, with the lease's keepalives.
    session_script: Option<Arc<str>>,
    lease: PostgresLeaseConfig,
    renewal: Renewal,
    /// A connection that holds no lock, kept for the next attempt.
    spare: Mutex<Option<PgConnection>>,
}

impl fmt::Debug for PostgresLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLeases")
            .field("url", &self.inner.config.redacted_url())
            .field("lease", &self.inner.lease)
            .finish_non_exhaustive()
    }
}

/// Takes the lock of the key text `$1`, returning whether it did and the key.
const TRY_LOCK: &str =
    "SELECT pg_try_advisory_lock(k), k FROM (SELECT hashtextextended($1, 0) AS k) s";

/// Names the holder and, from PostgreSQL 14, makes the server end the
/// session (freeing the lock) if the holder stalls: no heartbeat within
/// `idle_session_timeout` (`$2` ms).
const HOLDING: &str = "SELECT set_config('application_name', $1, false), \
     (SELECT set_config('idle_session_timeout', $2::text, false) \
      WHERE current_setting('server_version_num')::int >= 140000)";

/// The session holding the lock of the key text `$1`: its
/// `application_name`, pid, client address and start.
const HOLDER: &str = "SELECT a.application_name, a.pid, host(a.client_addr), a.backend_start \
     FROM pg_locks l \
     JOIN pg_stat_activity a ON a.pid = l.pid \
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
       AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)";

impl PostgresLeases {
    /// Leases on the server of `config` (its URL; schema and pool size do not
    /// matter: each lease has a connection of its own). Connects lazily.
    pub fn new(config: PostgresConfig, lease: PostgresLeaseConfig) -> Result<Self, PostgresError> {
        // The lease's own keepalives, set with the other session limits.
        let limits = config.session_limits().with_keepalives(lease.keepalives());
        let session_script = config
            .clone()
            .with_session_limits(limits)
            .session_script()?;
        let options = config.connect_options()?.application_name("es-lease");
        let renewal = Renewal::new(lease.heartbeat_interval(), lease.heartbeat_timeout()).map_err(
            |error| PostgresError::InvalidUrl {
                url: config.redacted_url(),
                reason: error.to_string(),
            },
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                options,
                session_script,
                lease,
                renewal,
                spare: Mutex::new(None),
            }),
        })
    }

    /// The lease settings.
    pub fn lease_config(&self) -> &PostgresLeaseConfig {
        &self.inner.lease
    }

    fn key_text(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.lease.namespace())
    }

    /// The spare connection, or a new one with the lease session settings.
    async fn connection(&self) -> Result<PgConnection, LeaseError> {
        if let Some(conn) = self.inner.spare.lock().await.take() {
            return Ok(conn);
        }
        let limit = self.inner.lease.connect_timeout();
        match tokio::time::timeout(limit, self.open_connection()).await {
            Ok(opened) => opened,
            Err(_) => Err(LeaseError::backend(format!(
                "connecting to {} for a lease took longer than {limit:?}",
                self.inner.config.redacted_url()
            ))),
        }
    }

    async fn open_connection(&self) -> Result<PgConnection, LeaseError> {
        let mut conn = PgConnection::connect_with(&self.inner.options)
            .await
            .map_err(|source| LeaseError::backend(self.inner.config.connect_error(source)))?;
        session_limits::set_up(&mut conn, self.inner.session_script.as_deref())
            .await
            .map_err(LeaseError::backend)?;
        Ok(conn)
    }

    async fn keep_spare(&self, conn: PgConnection) {
        *self.inner.spare.lock().await = Some(conn);
    }
}

#[async_trait]
impl LeaseStore for PostgresLeases {
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        check_lease_name(name)?;
        check_lease_holder(holder)?;
        let mut conn = self.connection().await?;
        let started = Instant::now();
        // A failed query drops the connection (and with it any lock).
        let (locked, key): (bool, i64) = sqlx::query_as(TRY_LOCK)
            .bind(self.key_text(name))
            .fetch_one(&mut conn)
            .await
            .map_err(LeaseError::backend)?;
        if !locked {
            self.keep_spare(conn).await;
            return Ok(None);
        }
        sqlx::query(HOLDING)
            .bind(holder)
            .bind(self.inner.lease.stall_timeout_ms())
            .execute(&mut conn)
            .await
            .map_err(LeaseError::backend)?;
        tracing::debug!(lease = name, holder, key, "took the advisory lock");
        Ok(Some(Lease::keep(
            name,
            holder,
            started,
            AdvisoryLock { conn, key },
            self.inner.renewal,
        )))
    }

    /// The session holding the lock: its `application_name` (the holder,
    /// at most 63 bytes), pid, client address and `backend_start`. Needs the
    /// privileges to see other sessions in `pg_stat_activity` (same role, or
    /// `pg_read_all_stats`); without them the holder's name reads as empty.
    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, LeaseError> {
        check_lease_name(name)?;
        let mut conn = self.connection().await?;
        let row: Option<HolderRow> = sqlx::query_as(HOLDER)
            .bind(self.key_text(name))
            .fetch_optional(&mut conn)
            .await
            .map_err(LeaseError::backend)?;
        self.keep_spare(conn).await;
        Ok(row.map(|(holder, pid, client_addr, since)| {
            let holder =
                LeaseHolder::new(holder.unwrap_or_default()).with_session(pid, client_addr);
            match since {
                Some(since) => holder.with_since(since),
                None => holder,
            }
        }))
    }
}

/// `application_name`, pid, `host(client_addr)`, `backend_start`.
type HolderRow = (
    Option<String>,
    i32,
    Option<String>,
    Option<chrono::DateTime<chrono::Utc>>,
);
