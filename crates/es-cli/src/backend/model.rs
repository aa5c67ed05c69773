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
    /// Which database keeps it.
    pub stored_in: StoredIn,
}

/// Where a checkpoint is kept: beside the log (a relay's, or a projection
/// writing to the log's database), or in the separate checkpoint database
/// (`--checkpoints`: a projector database of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredIn {
    /// The event store's database.
    Log,
    /// The `--checkpoints` database.
    Checkpoints,
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

/// Converts a position part to the signed integer the tables store.
pub fn signed(value: u64) -> i64 {
    // Positions are parsed with each part at most i64::MAX, and stores only
    // hand out what they stored, so this never saturates in practice.
    i64::try_from(value).unwrap_or(i64::MAX)
}
