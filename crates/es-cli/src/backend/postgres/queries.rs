//! The SQL `es` runs against a PostgreSQL event store's tables.
//!
//! Kept beside the backend rather than borrowed from es-postgres: these are
//! operator queries (listings, lag, the log's writers) the store itself never
//! needs. The schema name is the only text formatted in; it was validated by
//! [`SchemaName`] and is quoted. Every value is a bind parameter.

use es_postgres::SchemaName;

use crate::backend::log_reads::LogStatements;

/// The statements for one schema.
#[derive(Debug)]
pub struct Queries {
    /// The reads every backend answers (streams, checkpoints, backlog, head).
    pub log: LogStatements,
    /// Moves checkpoint `$1` to `($2, $3)`, returning where it was.
    pub move_checkpoint: String,
    /// Events whose commit key is at or above `$1` (held back by the horizon).
    pub held_back: String,
}

impl Queries {
    /// The statements of `schema`.
    pub fn new(schema: &SchemaName) -> Self {
        let q = schema.quoted();
        Self {
            log: LogStatements {
            streams: format!(
                "SELECT stream_id, max(version), max(recorded_at) FROM {q}.es_events \
                 WHERE ($1::text IS NULL OR stream_id = $1 OR starts_with(stream_id, $2)) \
                   AND ($3::text IS NULL OR starts_with(stream_id, $3)) \
                   AND ($4::text IS NULL OR stream_id > $4) \
                 GROUP BY stream_id ORDER BY stream_id LIMIT $5"
            ),
            streams_ending_with: format!(
                "SELECT DISTINCT stream_id FROM {q}.es_events \
                 WHERE right(stream_id, char_length($1) + 1) = '-' || $1 \
                 ORDER BY stream_id LIMIT $2"
            ),
            checkpoints: format!(
                "SELECT projection, commit_key, sequence FROM {q}.es_checkpoints ORDER BY projection"
            ),
            backlog: format!(
                "SELECT count(*), \
                        (SELECT recorded_at FROM {q}.es_events WHERE (txid, sequence) > ($1, $2) \
                         ORDER BY txid, sequence LIMIT 1) \
                 FROM {q}.es_events WHERE (txid, sequence) > ($1, $2)"
            ),
            head: format!(
                "SELECT txid, sequence, recorded_at FROM {q}.es_events \
                 ORDER BY txid DESC, sequence DESC LIMIT 1"
            ),
            },
            move_checkpoint: format!(
                "UPDATE {q}.es_checkpoints AS c SET commit_key = $2, sequence = $3 \
                 FROM (SELECT projection, commit_key, sequence FROM {q}.es_checkpoints \
                       WHERE projection = $1 FOR UPDATE) AS old \
                 WHERE c.projection = old.projection \
                 RETURNING old.commit_key, old.sequence"
            ),
            held_back: format!("SELECT count(*) FROM {q}.es_events WHERE txid >= $1"),
        }
    }
}

/// Whether a table exists: `$1` is `"schema".table`.
pub const TABLE_EXISTS: &str = "SELECT to_regclass($1) IS NOT NULL";

/// Sessions that hold a transaction id or a snapshot, oldest first.
pub const OPEN_TRANSACTIONS: &str = "\
    SELECT datname, pid, state, xact_start, query_start, left(query, 80), \
           backend_xid::text::bigint, backend_xmin::text::bigint, \
           extract(epoch FROM clock_timestamp() - xact_start)::float8 \
    FROM pg_stat_activity \
    WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) \
      AND pid <> pg_backend_pid() \
    ORDER BY greatest(age(backend_xid), age(backend_xmin)) DESC NULLS LAST, xact_start, pid";
