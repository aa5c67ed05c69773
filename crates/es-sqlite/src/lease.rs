//! Leases in a SQLite database: a row per name with a holder and an expiry.
//!
//! For services whose instances share one machine (and one database file).
//! A lease is the row `es_leases(name, holder, token, acquired_at,
//! expires_at)`: taken when the name has no row or its row has expired,
//! renewed every `ttl / 3` by moving `expires_at` (only while the row still
//! carries this holder's random token), lost when a renewal finds another
//! token or no renewal succeeds for the whole `ttl`, and deleted on release.
//! A holder killed with `kill -9` stops renewing, so a standby takes over
//! within `ttl` plus its retry interval: with [`DEFAULT_LEASE_TTL`] of 3 s
//! and the default retry interval of 0.5 s, within 3.5 s.
//!
//! Times are milliseconds since the Unix epoch from the machine's clock;
//! every instance must share that clock (one machine). A write transaction
//! of another connection that holds the database longer than `ttl / 3`
//! delays renewals; one that holds it for the whole `ttl` loses the lease
//! (keep leases in a file of their own if the service has such writers).
//!
//! The table is created by [`SqliteLeases::from_pool`] (idempotent):
//!
//! | column | meaning |
//! | --- | --- |
//! | `name` | the lease name (primary key) |
//! | `holder` | who holds it, for operators |
//! | `token` | a random id of this grant: renewals and releases touch only their own grant |
//! | `acquired_at` | when it was taken (ms since the epoch) |
//! | `expires_at` | when it is free unless renewed (ms since the epoch) |

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use chrono::DateTime;
use es_lease::{
    check_lease_holder, check_lease_name, Lease, LeaseError, LeaseHolder, LeaseKeeper, LeaseLost,
    LeaseStore, Renewal,
};
use sqlx::SqlitePool;
use tokio::time::Instant;

use crate::connection;

/// The default time to live of a SQLite lease: a holder that stops renewing
/// (killed, hung) loses it this long after its last renewal.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(3);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS es_leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
)";

/// Takes the row of `?1` unless a live grant holds it (`?4` is now).
const TAKE: &str = "INSERT INTO es_leases (name, holder, token, acquired_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, \
       acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
     WHERE es_leases.expires_at <= ?4";

/// Whether the lease table exists.
const HAS_TABLE: &str =
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'es_leases')";

/// The live grant of `?1` at `?2` (now): holder, taken and expiry times.
const LIVE_HOLDER: &str =
    "SELECT holder, acquired_at, expires_at FROM es_leases WHERE name = ?1 AND expires_at > ?2";

/// Leases as rows of a SQLite database. Cheap to clone.
///
/// ```
/// use es_lease::LeaseStore;
/// use es_sqlite::SqliteLeases;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir()?;
/// let leases = SqliteLeases::open(dir.path().join("leases.db")).await?;
/// let lease = leases.try_acquire("booking-relay", "instance-1").await?.expect("free");
/// assert!(leases.try_acquire("booking-relay", "instance-2").await?.is_none());
/// let holder = leases.holder("booking-relay").await?.expect("held");
/// assert_eq!(holder.holder, "instance-1");
/// assert!(holder.expires_at > holder.since);
/// lease.release().await?;
/// assert_eq!(leases.holder("booking-relay").await?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteLeases {
    pool: SqlitePool,
    renewal: Renewal,
    ttl: Duration,
}

impl std::fmt::Debug for SqliteLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLeases")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SqliteLeases {
    /// Opens (creating if needed) the database file at `path` (migrated like
    /// an event store's) and its lease table.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, LeaseError> {
        let pool = connection::open_file(path.as_ref())
            .await
            .map_err(LeaseError::backend)?;
        Self::from_pool(pool).await
    }

    /// Uses `pool`'s database, creating the lease table if needed, with
    /// [`DEFAULT_LEASE_TTL`].
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, LeaseError> {
        sqlx::query(CREATE_TABLE)
            .execute(&pool)
            .await
            .map_err(LeaseError::backend)?;
        Ok(Self {
            pool,
            renewal: Renewal::for_ttl(DEFAULT_LEASE_TTL)?,
            ttl: DEFAULT_LEASE_TTL,
        })
    }

    /// The time to live of leases taken from now on (from 3 ms to 1 hour):
    /// renewed every `ttl / 3`, lost when no renewal succeeded for `ttl`.
    #[must_use = "the builder returns the new store"]
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self, LeaseError> {
        self.renewal = Renewal::for_ttl(ttl)?;
        self.ttl = ttl;
        Ok(self)
    }

    /// The time to live of leases.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The database's pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Who holds the lease `name` in `pool`'s database now, without
    /// creating anything: `None` when nobody does (no row, an expired one,
    /// or no lease table at all, as in a database no lease was ever taken
    /// in). What [`LeaseStore::holder`] answers, for read-only tools that
    /// must not create the table.
    pub async fn read_holder(
        pool: &SqlitePool,
        name: &str,
    ) -> Result<Option<LeaseHolder>, LeaseError> {
        check_lease_name(name)?;
        let has_table: bool = sqlx::query_scalar(HAS_TABLE)
            .fetch_one(pool)
            .await
            .map_err(LeaseError::backend)?;
        if !has_table {
            return Ok(None);
        }
        let row: Option<(String, i64, i64)> = sqlx::query_as(LIVE_HOLDER)
            .bind(name)
            .bind(now_ms()?)
            .fetch_optional(pool)
            .await
            .map_err(LeaseError::backend)?;
        Ok(row.map(|(holder, acquired_at, expires_at)| {
            let mut holder = LeaseHolder::new(holder);
            if let Some(since) = DateTime::from_timestamp_millis(acquired_at) {
                holder = holder.with_since(since);
            }
            if let Some(until) = DateTime::from_timestamp_millis(expires_at) {
                holder = holder.with_expires_at(until);
            }
            holder
        }))
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> Result<i64, LeaseError> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| LeaseError::backend("the system clock is set before 1970"))?;
    i64::try_from(since_epoch.as_millis())
        .map_err(|_| LeaseError::backend("the system clock is beyond the year 292 million"))
}

/// `now + ttl` in milliseconds.
fn expiry(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl LeaseStore for SqliteLeases {
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        check_lease_name(name)?;
        check_lease_holder(holder)?;
        let token = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let now = now_ms()?;
        let taken = sqlx::query(TAKE)
            .bind(name)
            .bind(holder)
            .bind(&token)
            .bind(now)
            .bind(expiry(now, self.ttl))
            .execute(&self.pool)
            .await
            .map_err(LeaseError::backend)?
            .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
        let grant = Grant {
            pool: self.pool.clone(),
            name: name.to_owned(),
            token,
            ttl: self.ttl,
        };
        Ok(Some(Lease::keep(
            name,
            holder,
            started,
            grant,
            self.renewal,
        )))
    }

    /// The row's holder, when it took the lease, and its expiry.
    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, LeaseError> {
        Self::read_holder(&self.pool, name).await
    }
}

/// One grant: the row of `name` while it carries `token`.
struct Grant {
    pool: SqlitePool,
    name: String,
    token: String,
    ttl: Duration,
}

#[async_trait]
impl LeaseKeeper for Grant {
    async fn renew(&mut self) -> Result<(), LeaseLost> {
        let now = now_ms().map_err(|error| LeaseLost::RenewalFailed(error.to_string()))?;
        let renewed =
            sqlx::query("UPDATE es_leases SET expires_at = ?3 WHERE name = ?1 AND token = ?2")
                .bind(&self.name)
                .bind(&self.token)
                .bind(expiry(now, self.ttl))
                .execute(&self.pool)
                .await
                .map_err(|error| LeaseLost::RenewalFailed(error.to_string()))?
                .rows_affected();
        if renewed == 0 {
            return Err(LeaseLost::TakenOver);
        }
        Ok(())
    }

    async fn release(self: Box<Self>) -> Result<(), LeaseError> {
        sqlx::query("DELETE FROM es_leases WHERE name = ?1 AND token = ?2")
            .bind(&self.name)
            .bind(&self.token)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(LeaseError::backend)
    }
}
