//! The listing and lag reads both SQL backends run, written once.
//!
//! PostgreSQL and SQLite answer the same questions (a page of streams, the
//! checkpoints, the backlog after a position, the head of the log) with
//! their own SQL text but the same parameters and columns; this runs such a
//! set of statements on either kind of pool.

use chrono::{DateTime, Utc};
use es_core::Position;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Pool, Type};

use crate::{
    backend::{
        model::{signed, Backlog, Checkpoint, Head, StoredIn, StreamFilter, StreamSummary},
        rows::{self, Decodes},
    },
    error::CliError,
};

/// One backend's statements for the shared reads.
#[derive(Debug, Clone)]
pub struct LogStatements {
    /// `(category, category prefix, id prefix, after id, limit)` →
    /// `(stream_id, version, last_write)`.
    pub streams: String,
    /// `(suffix, limit)` → `(stream_id)` of streams whose id ends with
    /// `-{suffix}`.
    pub streams_ending_with: String,
    /// → `(projection, commit_key, sequence)`.
    pub checkpoints: String,
    /// `(commit, sequence)` → `(count after it, recorded_at of the first)`.
    pub backlog: String,
    /// → `(commit, sequence, recorded_at)` of the last event.
    pub head: String,
}

/// A value sqlx can bind for database `DB`.
pub trait Binds<DB: Database>: for<'q> Encode<'q, DB> + Type<DB> + Send {}
impl<DB: Database, T: for<'q> Encode<'q, DB> + Type<DB> + Send> Binds<DB> for T {}

impl LogStatements {
    /// A page of streams.
    pub async fn streams<DB>(
        &self,
        pool: &Pool<DB>,
        filter: &StreamFilter,
    ) -> Result<Vec<StreamSummary>, CliError>
    where
        DB: Database,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        usize: ColumnIndex<DB::Row>,
        Option<String>: Binds<DB>,
        i64: Binds<DB>,
        String: Decodes<DB>,
        i64: Decodes<DB>,
        DateTime<Utc>: Decodes<DB>,
    {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.streams.as_str()))
            .bind(filter.category.clone())
            .bind(filter.category_prefix())
            .bind(filter.prefix.clone())
            .bind(filter.after.clone())
            .bind(i64::from(filter.limit))
            .fetch_all(pool)
            .await
            .map_err(CliError::query("list streams"))?;
        rows.iter().map(rows::stream_summary).collect()
    }

    /// Up to `limit` streams whose id ends with `-{suffix}`, by id.
    pub async fn streams_ending_with<DB>(
        &self,
        pool: &Pool<DB>,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<String>, CliError>
    where
        DB: Database,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        usize: ColumnIndex<DB::Row>,
        String: Binds<DB>,
        i64: Binds<DB>,
        String: Decodes<DB>,
    {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.streams_ending_with.as_str()))
            .bind(suffix.to_owned())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(CliError::query("look for similar streams"))?;
        rows.iter()
            .map(|row| sqlx::Row::try_get(row, 0).map_err(CliError::query("read a stream id")))
            .collect()
    }

    /// Every checkpoint in `pool`'s database (which is `stored_in`), by name.
    pub async fn checkpoints<DB>(
        &self,
        pool: &Pool<DB>,
        stored_in: StoredIn,
    ) -> Result<Vec<Checkpoint>, CliError>
    where
        DB: Database,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        usize: ColumnIndex<DB::Row>,
        String: Decodes<DB>,
        i64: Decodes<DB>,
    {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.checkpoints.as_str()))
            .fetch_all(pool)
            .await
            .map_err(CliError::query("list checkpoints"))?;
        rows.iter()
            .map(|row| rows::checkpoint(row, stored_in))
            .collect()
    }

    /// How many events lie after `after`, and when the first was recorded.
    pub async fn backlog<DB>(&self, pool: &Pool<DB>, after: Position) -> Result<Backlog, CliError>
    where
        DB: Database,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        usize: ColumnIndex<DB::Row>,
        i64: Binds<DB>,
        i64: Decodes<DB>,
        Option<DateTime<Utc>>: Decodes<DB>,
    {
        let row = sqlx::query(sqlx::AssertSqlSafe(self.backlog.as_str()))
            .bind(signed(after.commit))
            .bind(signed(after.sequence))
            .fetch_one(pool)
            .await
            .map_err(CliError::query("count the events after a checkpoint"))?;
        rows::backlog(&row)
    }

    /// The last event of the log, if any.
    pub async fn head<DB>(&self, pool: &Pool<DB>) -> Result<Option<Head>, CliError>
    where
        DB: Database,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        usize: ColumnIndex<DB::Row>,
        i64: Decodes<DB>,
        DateTime<Utc>: Decodes<DB>,
    {
        let row = sqlx::query(sqlx::AssertSqlSafe(self.head.as_str()))
            .fetch_optional(pool)
            .await
            .map_err(CliError::query("find the head of the log"))?;
        row.as_ref().map(rows::head).transpose()
    }
}
