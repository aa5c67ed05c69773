//! What the backends answer with, the same for every kind of store.
//!
//! Commands only see these shapes; each backend fills them from its own
//! tables with its own SQL.

use chrono::{DateTime, Utc};
use es_core::Position;
use serde::Serialize;

/// Which streams `es streams` lists: a keyset page in stream id order.
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    /// Only streams of this category (the part of the id before the first `-`).
    pub category: Option<String>,
    /// Only streams whose id starts with this.
    pub prefix: Option<String>,
    /// Only streams whose id sorts after this one (the previous page's last).
    pub after: Option<String>,
    /// At most this many streams.
    pub limit: u32,
}

impl StreamFilter {
    /// The prefix a stream of [`category`](Self::category) starts with: `"{category}-"`.
    pub fn category_prefix(&self) -> Option<String> {
        self.category.as_ref().map(|c| format!("{c}-"))
    }
}

/// One stream in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct StreamSummary {
    /// The stream id.
    pub stream_id: String,
    /// Its last version.
    pub version: u64,
    /// When its last event was recorded.
    pub last_write: DateTime<Utc>,
}

/// One stored checkpoint (a projection's or a relay's).
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    /// The projection or relay name.
    pub name: String,
    /// The position of the last event it processed.
    pub position: Position,
}

/// How much of the log lies after a position.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Backlog {
    /// Events after the position.
    pub events: u64,
    /// When the first of them was recorded (`None` when there are none).
    pub oldest_recorded_at: Option<DateTime<Utc>>,
}

/// The last event of the log.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Head {
    /// Its position.
    pub position: Position,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Converts a stored (signed) integer to the unsigned value es-core uses.
pub fn unsigned(value: i64, what: &'static str) -> Result<u64, crate::error::CliError> {
    u64::try_from(value).map_err(|_| crate::error::CliError::Query {
        what,
        source: sqlx::Error::Decode(format!("negative value {value}").into()),
    })
}

/// Converts a position part to the signed integer the tables store.
pub fn signed(value: u64) -> i64 {
    // Positions are parsed with each part at most i64::MAX, and stores only
    // hand out what they stored, so this never saturates in practice.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A position from its two stored columns, as sqlx read them.
pub fn position(
    commit: Result<i64, sqlx::Error>,
    sequence: Result<i64, sqlx::Error>,
) -> Result<Position, crate::error::CliError> {
    let read = crate::error::CliError::query("read a position");
    let (commit, sequence) = commit.and_then(|c| Ok((c, sequence?))).map_err(read)?;
    Ok(Position::new(
        unsigned(commit, "read a position")?,
        unsigned(sequence, "read a position")?,
    ))
}
