//! Decoding the rows both backends' queries return, once.
//!
//! The PostgreSQL and SQLite queries are different SQL but answer with the
//! same columns (stream listings, checkpoints, backlogs), so the decoding
//! is written once, generic over the sqlx database.

use chrono::{DateTime, Utc};
use es_core::Position;
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

use crate::{
    backend::model::{Backlog, Checkpoint, Head, StoredIn, StreamSummary},
    error::CliError,
};

/// A column type sqlx can decode from database `DB`.
pub trait Decodes<DB: Database>: for<'r> Decode<'r, DB> + Type<DB> {}
impl<DB: Database, T: for<'r> Decode<'r, DB> + Type<DB>> Decodes<DB> for T {}

/// Column `index` of `row`, or an error saying what was being read.
fn get<R, T>(row: &R, index: usize, what: &'static str) -> Result<T, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    T: Decodes<R::Database>,
{
    row.try_get(index).map_err(CliError::query(what))
}

/// Converts a stored (signed) integer to the unsigned value es-core uses.
pub fn unsigned(value: i64, what: &'static str) -> Result<u64, CliError> {
    u64::try_from(value).map_err(|_| CliError::Query {
        what,
        source: sqlx::Error::Decode(format!("negative value {value}").into()),
    })
}

/// The position in columns `commit` and `sequence`.
pub fn position<R>(row: &R, commit: usize, sequence: usize) -> Result<Position, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decodes<R::Database>,
{
    let what = "read a position";
    Ok(Position::new(
        unsigned(get(row, commit, what)?, what)?,
        unsigned(get(row, sequence, what)?, what)?,
    ))
}

/// `(stream_id, version, last_write)`.
pub fn stream_summary<R>(row: &R) -> Result<StreamSummary, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decodes<R::Database>,
    i64: Decodes<R::Database>,
    DateTime<Utc>: Decodes<R::Database>,
{
    let what = "read a stream";
    Ok(StreamSummary {
        stream_id: get(row, 0, what)?,
        version: unsigned(get(row, 1, what)?, what)?,
        last_write: get(row, 2, what)?,
    })
}

/// `(projection, commit_key, sequence)`.
pub fn checkpoint<R>(row: &R, stored_in: StoredIn) -> Result<Checkpoint, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decodes<R::Database>,
    i64: Decodes<R::Database>,
{
    Ok(Checkpoint {
        name: get(row, 0, "read a checkpoint")?,
        position: position(row, 1, 2)?,
        stored_in,
    })
}

/// `(count, recorded_at of the first event)`.
pub fn backlog<R>(row: &R) -> Result<Backlog, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decodes<R::Database>,
    Option<DateTime<Utc>>: Decodes<R::Database>,
{
    let what = "read the backlog";
    Ok(Backlog {
        events: unsigned(get(row, 0, what)?, what)?,
        oldest_recorded_at: get(row, 1, what)?,
    })
}

/// `(commit, sequence, recorded_at)` of the last event.
pub fn head<R>(row: &R) -> Result<Head, CliError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decodes<R::Database>,
    DateTime<Utc>: Decodes<R::Database>,
{
    Ok(Head {
        position: position(row, 0, 1)?,
        recorded_at: get(row, 2, "read the head of the log")?,
    })
}
