//! The SQL of one schema, formatted once.
//!
//! The schema name is the only text formatted into these statements; it was
//! validated by [`SchemaName`] and is quoted. Every value is a bind parameter.
//! Formatting once per store also gives each statement a stable text, so
//! sqlx's per-connection prepared-statement cache reuses the server-side plan.

use crate::SchemaName;

/// Columns of an event read from one stream, in the order `decode_row`
/// reads them (the stream id is known: it was the query's parameter).
const STREAM_EVENT_COLUMNS: &str = "sequence, txid, event_id, version, event_type, \
     schema_version, payload, metadata, recorded_at";

/// Columns of an event read from the global log: the above and the stream id.
const EVENT_COLUMNS: &str = "sequence, txid, event_id, version, event_type, \
     schema_version, payload, metadata, recorded_at, stream_id";

/// The statements of the event store of one schema.
#[derive(Debug)]
pub(crate) struct Statements {
    /// Append a batch when the stream may be created (Any, NoStream, Exact(0)).
    pub append_upsert: String,
    /// Append a batch to a stream that must exist (StreamExists, Exact(n > 0)).
    pub append_update: String,
    /// [`append_upsert`](Self::append_upsert) for a single event.
    pub append_one_upsert: String,
    /// [`append_update`](Self::append_update) for a single event.
    pub append_one_update: String,
    pub read_stream: String,
    /// [`read_stream`](Self::read_stream) with only what replay needs.
    pub replay_stream: String,
    pub read_all: String,
    pub held_back: String,
    pub snapshot_xmin: String,
    pub stream_version: String,
    pub find_event_ids: String,
    pub load_snapshot: String,
    pub save_snapshot: String,
}

/// The part of the append statement after the stream row was claimed.
///
/// Parameters: `$1` stream id, `$2` expected version (`-1` = no check), `$3`
/// batch size, `$4..$8` the batch as arrays (ids, types, schema versions,
/// payloads, metadata). Returns one row
/// `(version, txid, first sequence, last sequence)` if the events were
/// written, no row if the expected-version check refused them.
fn append_batch_tail(q: &str) -> String {
    format!(
        "appended AS ( \
            INSERT INTO {q}.es_events \
                (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
            SELECT pg_current_xact_id()::text::bigint, e.event_id, $1, stream.version - $3 + e.ord, \
                   e.event_type, e.schema_version, e.payload, e.metadata \
            FROM stream, \
                 unnest($4::uuid[], $5::text[], $6::int4[], $7::jsonb[], $8::jsonb[]) \
                 WITH ORDINALITY AS e(event_id, event_type, schema_version, payload, metadata, ord) \
            ORDER BY e.ord \
            RETURNING sequence, version \
         ) \
         SELECT max(version), pg_current_xact_id()::text::bigint, min(sequence), max(sequence) \
         FROM appended HAVING count(*) > 0"
    )
}

/// [`append_batch_tail`] for a batch of one event, with `$4..$8` scalars.
///
/// Most commands record one event; without `UNNEST`, `ORDER BY` and the
/// aggregate the statement costs the server about 10% less CPU (measured with
/// `pgbench`, 8 clients), which is what bounds 8 writers on 2 cores.
fn append_one_tail(q: &str) -> String {
    format!(
        "appended AS ( \
            INSERT INTO {q}.es_events \
                (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
            SELECT pg_current_xact_id()::text::bigint, $4::uuid, $1, stream.version, \
                   $5::text, $6::int4, $7::jsonb, $8::jsonb \
            FROM stream \
            RETURNING version, txid, sequence \
         ) \
         SELECT version, txid, sequence, sequence FROM appended"
    )
}

impl Statements {
    pub fn new(schema: &SchemaName) -> Self {
        let q = schema.quoted();
        let upsert = format!(
            "WITH stream AS ( \
                INSERT INTO {q}.es_streams AS s (stream_id, version) VALUES ($1, $3::bigint) \
                ON CONFLICT (stream_id) DO UPDATE SET version = s.version + $3::bigint \
                WHERE $2::bigint < 0 OR s.version = $2::bigint \
                RETURNING s.version \
             )"
        );
        let update = format!(
            "WITH stream AS ( \
                UPDATE {q}.es_streams AS s SET version = s.version + $3::bigint \
                WHERE s.stream_id = $1 AND ($2::bigint < 0 OR s.version = $2::bigint) \
                RETURNING s.version \
             )"
        );
        let (batch, one) = (append_batch_tail(&q), append_one_tail(&q));
        Self {
            append_upsert: format!("{upsert}, {batch}"),
            append_update: format!("{update}, {batch}"),
            append_one_upsert: format!("{upsert}, {one}"),
            append_one_update: format!("{update}, {one}"),
            read_stream: format!(
                "SELECT {STREAM_EVENT_COLUMNS} FROM {q}.es_events \
                 WHERE stream_id = $1 AND version >= $2 ORDER BY version"
            ),
            replay_stream: format!(
                "SELECT version, event_type, schema_version, payload FROM {q}.es_events \
                 WHERE stream_id = $1 AND version >= $2 ORDER BY version"
            ),
            read_all: format!(
                "SELECT {EVENT_COLUMNS} FROM {q}.es_events \
                 WHERE (txid, sequence) > ($1, $2) \
                   AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                 ORDER BY txid, sequence LIMIT $3"
            ),
            held_back: format!(
                "SELECT min(txid) FROM {q}.es_events \
                 WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                   AND (txid, sequence) > ($1, $2)"
            ),
            snapshot_xmin: "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint".to_owned(),
            stream_version: format!("SELECT version FROM {q}.es_streams WHERE stream_id = $1"),
            find_event_ids: format!(
                "SELECT event_id, stream_id, version, txid, sequence FROM {q}.es_events \
                 WHERE event_id = ANY($1)"
            ),
            load_snapshot: format!(
                "SELECT version, state FROM {q}.es_snapshots WHERE stream_id = $1"
            ),
            save_snapshot: format!(
                "INSERT INTO {q}.es_snapshots AS s (stream_id, version, state) VALUES ($1, $2, $3) \
                 ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state \
                 WHERE excluded.version > s.version"
            ),
        }
    }
}

/// The statements of the checkpoint table of one schema.
#[derive(Debug)]
pub(crate) struct CheckpointStatements {
    pub load: String,
    pub compare_and_set: String,
    pub insert_first: String,
}

impl CheckpointStatements {
    pub fn new(schema: &SchemaName) -> Self {
        let q = schema.quoted();
        Self {
            load: format!(
                "SELECT commit_key, sequence FROM {q}.es_checkpoints WHERE projection = $1"
            ),
            compare_and_set: format!(
                "UPDATE {q}.es_checkpoints SET commit_key = $4, sequence = $5 \
                 WHERE projection = $1 AND commit_key = $2 AND sequence = $3"
            ),
            insert_first: format!(
                "INSERT INTO {q}.es_checkpoints (projection, commit_key, sequence) \
                 VALUES ($1, $2, $3) ON CONFLICT (projection) DO NOTHING"
            ),
        }
    }
}

/// The NOTIFY channel of a schema's event store (at most 63 bytes, the
/// longest channel name PostgreSQL accepts).
pub(crate) fn notify_channel(schema: &SchemaName) -> String {
    let mut channel = format!("es_events_{}", schema.as_str());
    channel.truncate(63);
    channel
}
