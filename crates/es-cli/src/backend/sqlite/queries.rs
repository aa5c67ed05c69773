//! The SQL `es` runs against a SQLite event store's tables.
//!
//! Operator queries the store itself never needs. In SQLite a position is
//! the event's row number (`position`), the same for its commit and
//! sequence parts, because writers are serialised.

use crate::backend::log_reads::LogStatements;

/// The reads every backend answers, in SQLite's SQL.
pub fn log_statements() -> LogStatements {
    LogStatements {
        streams: STREAMS.to_owned(),
        streams_ending_with: STREAMS_ENDING_WITH.to_owned(),
        checkpoints: CHECKPOINTS.to_owned(),
        backlog: BACKLOG.to_owned(),
        head: HEAD.to_owned(),
    }
}

/// `?1` category (exact id), `?2` category prefix, `?3` id prefix, `?4`
/// after this id, `?5` limit: `(stream_id, version, recorded_at)`. SQLite
/// takes the bare `recorded_at` from the row holding `max(version)`.
const STREAMS: &str = "\
    SELECT stream_id, max(version), recorded_at FROM es_events \
    WHERE (?1 IS NULL OR stream_id = ?1 OR substr(stream_id, 1, length(?2)) = ?2) \
      AND (?3 IS NULL OR substr(stream_id, 1, length(?3)) = ?3) \
      AND (?4 IS NULL OR stream_id > ?4) \
    GROUP BY stream_id ORDER BY stream_id LIMIT ?5";

/// `?1` suffix, `?2` limit: the ids of streams ending with `-{suffix}`.
const STREAMS_ENDING_WITH: &str = "\
    SELECT DISTINCT stream_id FROM es_events \
    WHERE substr(stream_id, -(length(?1) + 1)) = '-' || ?1 \
    ORDER BY stream_id LIMIT ?2";

/// All checkpoints: `(projection, commit_key, sequence)`.
const CHECKPOINTS: &str =
    "SELECT projection, commit_key, sequence FROM es_checkpoints ORDER BY projection";

/// One checkpoint: `(commit_key, sequence)`.
pub const CHECKPOINT: &str =
    "SELECT commit_key, sequence FROM es_checkpoints WHERE projection = ?1";

/// Moves checkpoint `?1` to `(?2, ?3)`.
pub const MOVE_CHECKPOINT: &str =
    "UPDATE es_checkpoints SET commit_key = ?2, sequence = ?3 WHERE projection = ?1";

/// Events after position `(?1, ?2)`: `(count, recorded_at of the first)`.
/// A SQLite position's two parts are the same row number; `?2` is used.
const BACKLOG: &str = "\
    SELECT count(*), \
           (SELECT recorded_at FROM es_events WHERE position > ?2 ORDER BY position LIMIT 1) \
    FROM es_events WHERE position > ?2 AND ?1 IS NOT NULL";

/// The last event: `(commit, sequence, recorded_at)` (both parts are its position).
const HEAD: &str =
    "SELECT position, position, recorded_at FROM es_events ORDER BY position DESC LIMIT 1";

/// Whether the table `?1` exists.
pub const HAS_TABLE: &str =
    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1";
