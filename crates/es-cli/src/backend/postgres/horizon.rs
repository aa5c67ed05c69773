//! What holds back the gap-safe reader of a PostgreSQL store.
//!
//! es-postgres hands out only events whose commit key is below the horizon
//! of the log's own writers: the oldest running transaction holding a
//! writer's lock on this schema's `es_events`, or the cluster's next
//! transaction id (`PostgresStore::horizon`). This module lists the sessions
//! with open transactions in `pg_stat_activity`, oldest first, marks which
//! of them write this store's log and which holds the horizon, and counts the
//! committed events of this store held back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{queries::OPEN_TRANSACTIONS, PostgresBackend};
use crate::error::CliError;

/// A transaction id's low 32 bits, as `backend_xid` shows it.
const XID_MASK: i64 = 0xFFFF_FFFF;

/// The horizon and who holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Horizon {
    /// The log's horizon now (64-bit, with epoch): no event with this
    /// commit key or a later one is handed out yet.
    pub horizon: i64,
    /// Committed events of this store at or above the horizon (held back).
    pub held_back_events: u64,
    /// Sessions holding a transaction id or a snapshot, oldest first (only
    /// those that write the log can hold the horizon).
    pub transactions: Vec<OpenTransaction>,
}

/// One session with an open transaction.
#[derive(Debug, Clone, Serialize)]
pub struct OpenTransaction {
    /// Its database.
    pub datname: Option<String>,
    /// Its backend process id.
    pub pid: i32,
    /// Its state (`active`, `idle in transaction`, ...).
    pub state: Option<String>,
    /// Seconds since its transaction started.
    pub age_seconds: Option<f64>,
    /// When its transaction started.
    pub xact_start: Option<DateTime<Utc>>,
    /// When its current or last query started.
    pub query_start: Option<DateTime<Utc>>,
    /// The first 80 characters of that query.
    pub query: Option<String>,
    /// Its transaction id, if it has written anything.
    pub backend_xid: Option<i64>,
    /// The oldest transaction its snapshot still sees as running.
    pub backend_xmin: Option<i64>,
    /// Whether it holds a writer's lock on this store's log (only such
    /// transactions hold the horizon back).
    pub writes_log: bool,
    /// Whether it writes the log and its transaction id is the horizon.
    pub holds_horizon: bool,
}

impl PostgresBackend {
    /// The current horizon and the sessions behind it.
    pub async fn horizon(&self) -> Result<Horizon, CliError> {
        let pool = self.store.pool();
        let horizon = self.store.horizon().await?;
        let horizon = i64::try_from(horizon).unwrap_or(i64::MAX);
        let writers = self.store.log_writers().await?;
        let held_back: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.held_back.as_str()))
            .bind(horizon)
            .fetch_one(pool)
            .await
            .map_err(CliError::query("count the held-back events"))?;
        let rows = sqlx::query(OPEN_TRANSACTIONS)
            .fetch_all(pool)
            .await
            .map_err(CliError::query("list open transactions"))?;
        let transactions = rows
            .iter()
            .map(|row| {
                let read = || CliError::query("read pg_stat_activity");
                let backend_xid: Option<i64> = row.try_get(6).map_err(read())?;
                let pid: i32 = row.try_get(1).map_err(read())?;
                let writes_log = writers.contains(&pid);
                Ok(OpenTransaction {
                    datname: row.try_get(0).map_err(read())?,
                    pid,
                    state: row.try_get(2).map_err(read())?,
                    xact_start: row.try_get(3).map_err(read())?,
                    query_start: row.try_get(4).map_err(read())?,
                    query: row.try_get(5).map_err(read())?,
                    backend_xid,
                    backend_xmin: row.try_get(7).map_err(read())?,
                    age_seconds: row.try_get(8).map_err(read())?,
                    writes_log,
                    holds_horizon: writes_log && backend_xid == Some(horizon & XID_MASK),
                })
            })
            .collect::<Result<_, CliError>>()?;
        Ok(Horizon {
            horizon,
            held_back_events: crate::backend::rows::unsigned(held_back, "count held-back events")?,
            transactions,
        })
    }
}
