//! What holds back the gap-safe reader of a PostgreSQL store.
//!
//! es-postgres hands out only events whose transaction id is below
//! `pg_snapshot_xmin`: the oldest transaction still running anywhere on the
//! server. One long transaction in any database pauses every subscriber.
//! This module finds those sessions in `pg_stat_activity`, oldest first, and
//! counts the committed events of this store they hold back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{
    queries::{HORIZON, OPEN_TRANSACTIONS},
    PostgresBackend,
};
use crate::error::CliError;

/// A transaction id's low 32 bits, as `backend_xid` shows it.
const XID_MASK: i64 = 0xFFFF_FFFF;

/// The horizon and who holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Horizon {
    /// `pg_snapshot_xmin` now (64-bit, with epoch): no event with this
    /// transaction id or a later one is handed out yet.
    pub xmin: i64,
    /// Committed events of this store at or above the horizon (held back).
    pub held_back_events: u64,
    /// Sessions holding a transaction id or a snapshot, oldest first.
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
    /// Its transaction id, if it has written (only these hold the horizon).
    pub backend_xid: Option<i64>,
    /// The oldest transaction its snapshot still sees as running.
    pub backend_xmin: Option<i64>,
    /// Whether its transaction id is the horizon itself.
    pub holds_horizon: bool,
}

impl PostgresBackend {
    /// The current horizon and the sessions behind it.
    pub async fn horizon(&self) -> Result<Horizon, CliError> {
        let pool = self.store.pool();
        let xmin: i64 = sqlx::query_scalar(HORIZON)
            .fetch_one(pool)
            .await
            .map_err(CliError::query("read the xmin horizon"))?;
        let held_back: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.held_back.as_str()))
            .bind(xmin)
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
                Ok(OpenTransaction {
                    datname: row.try_get(0).map_err(read())?,
                    pid: row.try_get(1).map_err(read())?,
                    state: row.try_get(2).map_err(read())?,
                    xact_start: row.try_get(3).map_err(read())?,
                    query_start: row.try_get(4).map_err(read())?,
                    query: row.try_get(5).map_err(read())?,
                    backend_xid,
                    backend_xmin: row.try_get(7).map_err(read())?,
                    age_seconds: row.try_get(8).map_err(read())?,
                    holds_horizon: backend_xid == Some(xmin & XID_MASK),
                })
            })
            .collect::<Result<_, CliError>>()?;
        Ok(Horizon {
            xmin,
            held_back_events: crate::backend::rows::unsigned(held_back, "count held-back events")?,
            transactions,
        })
    }
}
