//! The SQL of one schema, formatted once.
//!
//! The schema name is the only text formatted into these statements; it was
//! validated by [`SchemaName`] and is quoted. Every value is a bind parameter.
//! Formatting once per store also gives each statement a stable text, so
//! sqlx's per-connection prepared-statement cache reuses the server-side plan.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::SchemaName;

/// Columns of an event read from one stream, in the order `decode_row`
/// reads them (the stream id is known: it was the query's parameter).
const STREAM_EVENT_COLUMNS: &str = "sequence, txid, event_id, version, event_type, \
     schema_version, payload, metadata, recorded_at";

/// Columns of an event read from the global log: the above and the stream id.
pub(crate) const EVENT_COLUMNS: &str = "sequence, txid, event_id, version, event_type, \
     schema_version, payload, metadata, recorded_at, stream_id";

/// The commit key an append stores in the `txid` column: the greatest of
/// the appending transaction's id (the `xid8` with its epoch; assigns the
/// transaction an id if it had none), the cluster's next transaction id as
/// of the statement's snapshot, and `$8`, the transaction's commit ticket
/// (`0` without one). An old transaction that appends only now is thus
/// ordered after everything a reader could have passed before it took the
/// log's lock (docs/adr/horizon-from-the-logs-writers.md argues it).
const COMMIT_KEY: &str = "greatest(pg_current_xact_id()::text::bigint, \
     pg_snapshot_xmax(pg_current_snapshot())::text::bigint, $8::bigint)";

/// The cluster's next transaction id as of the statement's snapshot: every
/// transaction id a healthy cluster ever stored lies below it (see
/// `restored_database`).
const CLUSTER_NEXT: &str = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

/// The statements of the event store of one schema.
#[derive(Debug)]
pub(crate) struct Statements {
    /// Append a batch after a stated version (Exact(n), NoStream = Exact(0)).
    pub append_exact: SqlStr,
    /// Append a batch after the stream's current version (Any, StreamExists).
    pub append_current: SqlStr,
    /// [`append_exact`](Self::append_exact) for a single event.
    pub append_one_exact: SqlStr,
    /// [`append_current`](Self::append_current) for a single event.
    pub append_one_current: SqlStr,
    pub read_stream: SqlStr,
    /// [`read_stream`](Self::read_stream) with only what replay needs.
    pub replay_stream: SqlStr,
    /// A page of the log after `($1, $2)`, at most `$3` events, with commit
    /// keys below the horizon `$4`.
    pub read_all: SqlStr,
    /// The oldest commit key after a position among committed events, safe
    /// or not, and the cluster's next transaction id.
    pub pending: SqlStr,
    /// The horizon of this store's log: no transaction can still commit an
    /// event with a commit key below it (see [`horizon`]).
    pub horizon: SqlStr,
    /// The age in seconds of the oldest open transaction holding a writer's
    /// lock on the log (other than the asking one), `0` when there is none.
    pub writer_age: SqlStr,
    /// The backend process ids of the log's writers.
    pub log_writers: SqlStr,
    /// Whether an append in the caller's transaction needs a commit ticket:
    /// its snapshot is the transaction's (not the statement's) and it took
    /// its transaction id already.
    pub needs_ticket: SqlStr,
    /// Takes the log's writer lock before a commit ticket is drawn.
    pub lock_log: SqlStr,
    /// Draws a commit ticket: returns the new subtransaction's id (32 bits)
    /// and the transaction's full id.
    pub commit_ticket: SqlStr,
    /// How many committed events lie after a position, and the age in
    /// seconds of the oldest (`0` when none).
    pub lag_after: SqlStr,
    pub stream_version: SqlStr,
    /// Why an append was refused: the stream's last version and its
    /// commit key (`NULL`s for no events), the commit key the asking
    /// transaction would take now (with the ticket `$2`) and the cluster's
    /// next transaction id.
    pub stream_head: SqlStr,
    /// The highest stored transaction id (`NULL` for an empty log) and the
    /// cluster's next one: a store opened on a restored database.
    pub log_head: SqlStr,
    pub find_event_ids: SqlStr,
    pub load_snapshot: SqlStr,
    pub save_snapshot: SqlStr,
}

/// The shared advisory locks every append takes before it inserts (`$8`:
/// the keys, sorted; see `store/boundary_locks.rs`), as a one-row derived
/// table: the aggregate consumes every lock before the join yields a row,
/// so no row is inserted (and no transaction id taken) before the locks.
const SHARED_LOCKS: &str = "(SELECT count(*) FROM unnest($9::bigint[]) AS k \
      WHERE pg_advisory_xact_lock_shared(k) IS NULL) AS shared_locks";

/// The version an append numbers its events after, as a one-row derived
/// table `base(version)`, or no row when the expected-version check refuses.
///
/// There is no table of streams: the unique index on `(stream_id, version)`
/// is the concurrency control. Two appends after the same version insert the
/// same first version; the second waits for the first to commit, then fails
/// with a unique violation, which the store turns into a conflict. `$2` is
/// the expected version for `Exact` (`0` = the stream must not exist: its
/// version 1 would clash), and for `Current` `1` if the stream must exist,
/// `0` if anything goes (the current version is read from the index).
///
/// The event the batch follows must also have a commit key no greater than
/// this append's (`txid <= ` [`COMMIT_KEY`]): the log is ordered by commit
/// key, and the batch must not come before that event. A visible committed
/// event's key lies below the cluster's next transaction id, so this holds
/// by construction; the check is the fence that turns a breach into
/// `StoreError::TransactionTooOld` instead of a log out of stream order.
fn base(q: &str, after: After) -> String {
    match after {
        After::Exact => format!(
            "(SELECT $2::bigint AS version \
              WHERE $2::bigint = 0 \
                 OR EXISTS (SELECT 1 FROM {q}.es_events \
                            WHERE stream_id = $1 AND version = $2::bigint \
                              AND txid <= {COMMIT_KEY}) \
             ) AS base"
        ),
        After::Current => {
            let stream_last = stream_last(q);
            format!(
                "(SELECT coalesce(stream_last.version, 0) AS version FROM {stream_last} \
                  WHERE ($2::bigint = 0 OR stream_last.version IS NOT NULL) \
                    AND (stream_last.version IS NULL OR stream_last.txid <= {COMMIT_KEY}) \
                 ) AS base"
            )
        }
    }
}

/// The stream `$1`'s last event as one row `stream_last(version, txid)`,
/// `NULL`s when the stream has no events (one probe of the unique index).
fn stream_last(q: &str) -> String {
    format!(
        "(SELECT 1) AS stream \
         LEFT JOIN (SELECT version, txid FROM {q}.es_events WHERE stream_id = $1 \
                    ORDER BY version DESC LIMIT 1) AS stream_last ON true"
    )
}

/// How an append finds the version it writes after.
#[derive(Clone, Copy)]
enum After {
    Exact,
    Current,
}

/// The append of a batch: `$3..$7` are arrays (ids, types, schema versions,
/// payloads, metadata) and `$8` the commit ticket. Payloads and metadata arrive as the JSON text
/// serde_json wrote and are stored as `json`, which keeps that text exactly
/// (`jsonb` would re-normalise numbers). Returns one row `(version, txid, first sequence,
/// last sequence)` if the events were written, no row if the
/// expected-version check refused them.
fn append_batch(q: &str, after: After) -> String {
    let base = base(q, after);
    format!(
        "WITH appended AS ( \
            INSERT INTO {q}.es_events \
                (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
            SELECT {COMMIT_KEY}, e.event_id, $1, base.version + e.ord, \
                   e.event_type, e.schema_version, e.payload::json, e.metadata::json \
            FROM {SHARED_LOCKS}, {base}, \
                 unnest($3::uuid[], $4::text[], $5::int4[], $6::text[], $7::text[]) \
                 WITH ORDINALITY AS e(event_id, event_type, schema_version, payload, metadata, ord) \
            ORDER BY e.ord \
            RETURNING sequence, version, txid \
         ) \
         SELECT max(version), max(txid), min(sequence), max(sequence) \
         FROM appended HAVING count(*) > 0"
    )
}

/// [`append_batch`] for a batch of one event, with `$3..$7` scalars (and the
/// ticket `$8` and lock keys `$9`).
///
/// Most commands record one event; without `UNNEST`, `ORDER BY` and the
/// aggregate the statement costs the server about 10% less CPU (measured with
/// `pgbench`, 8 clients), which is what bounds 8 writers on 2 cores.
fn append_one(q: &str, after: After) -> String {
    let base = base(q, after);
    format!(
        "INSERT INTO {q}.es_events \
            (txid, event_id, stream_id, version, event_type, schema_version, payload, metadata) \
         SELECT {COMMIT_KEY}, $3::uuid, $1, base.version + 1, \
                $4::text, $5::int4, $6::text::json, $7::text::json \
         FROM {SHARED_LOCKS}, {base} \
         RETURNING version, txid, sequence, sequence"
    )
}

/// The relation locks of writers of the log of schema `q` in this
/// database (`ROW EXCLUSIVE` or stronger), as the rows of `pg_locks` named
/// `{locks}` show them: the condition [`horizon`] and the writers' age share.
fn writer_lock(locks: &str, q: &str) -> String {
    format!(
        "{locks}.locktype = 'relation' \
         AND {locks}.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND {locks}.relation = '{q}.es_events'::regclass \
         AND {locks}.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', \
                              'AccessExclusiveLock')"
    )
}

/// The backend process ids of the log's writers (a subquery).
fn log_writer_pids(q: &str) -> String {
    format!(
        "SELECT l.pid FROM pg_locks AS l WHERE l.granted AND {}",
        writer_lock("l", q)
    )
}

/// The horizon of the log of schema `q`, computed in a statement of its own
/// before the statement that reads below it: the least of the cluster's next
/// transaction id (as of this statement's snapshot) and the ids of the
/// transactions running at that snapshot that hold a writer's lock
/// (`ROW EXCLUSIVE` or stronger) on this schema's `es_events` in this
/// database. A transaction of another database, or one that never wrote the
/// log, holds no such lock and adds no wait.
///
/// `pg_locks` names a holder's transaction by its `transactionid` lock (32
/// bits), matched against the snapshot's running transactions (`xip`, full
/// 64-bit ids; a holder's top-level id is among them if it ran at the
/// snapshot). The lock table is read once (a materialised CTE). Holders are matched by
/// virtual transaction, which also covers prepared transactions (no pid).
/// Why no event can be committed below it afterwards:
/// docs/adr/horizon-from-the-logs-writers.md.
///
/// On a hot standby `pg_locks` shows only the standby's own locks, so
/// there the horizon falls back to the snapshot's `xmin` (the oldest
/// transaction running on the primary, as replayed), which is safe with
/// commit keys too: a key is never below its writer's id.
fn horizon(q: &str) -> String {
    format!(
        "WITH locks AS MATERIALIZED ( \
            SELECT locktype, database, relation, transactionid, virtualtransaction, mode, granted \
            FROM pg_locks \
         ), writers AS ( \
            SELECT t.transactionid::text::bigint AS xid \
            FROM locks r JOIN locks t ON t.virtualtransaction = r.virtualtransaction \
            WHERE {writer} \
              AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted \
         ), snapshot AS (SELECT pg_current_snapshot() AS s) \
         SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(s) \
                ELSE least(pg_snapshot_xmax(s), \
                           (SELECT min(x) FROM pg_snapshot_xip(s) AS x \
                            WHERE x::text::bigint % 4294967296 IN (SELECT xid FROM writers))) \
                END::text::bigint \
         FROM snapshot",
        writer = writer_lock("r", q)
    )
}

impl Statements {
    pub fn new(schema: &SchemaName) -> Self {
        let q = schema.quoted();
        Self {
            append_exact: schema_sql(append_batch(&q, After::Exact)),
            append_current: schema_sql(append_batch(&q, After::Current)),
            append_one_exact: schema_sql(append_one(&q, After::Exact)),
            append_one_current: schema_sql(append_one(&q, After::Current)),
            read_stream: schema_sql(format!(
                "SELECT {STREAM_EVENT_COLUMNS} FROM {q}.es_events \
                 WHERE stream_id = $1 AND version >= $2 ORDER BY version"
            )),
            replay_stream: schema_sql(format!(
                "SELECT version, event_type, schema_version, payload FROM {q}.es_events \
                 WHERE stream_id = $1 AND version >= $2 ORDER BY version"
            )),
            read_all: schema_sql(format!(
                "SELECT {EVENT_COLUMNS} FROM {q}.es_events \
                 WHERE (txid, sequence) > ($1, $2) AND txid < $4 \
                 ORDER BY txid, sequence LIMIT $3"
            )),
            pending: schema_sql(format!(
                "SELECT min(txid), {CLUSTER_NEXT} FROM {q}.es_events \
                 WHERE (txid, sequence) > ($1, $2)"
            )),
            horizon: schema_sql(horizon(&q)),
            log_writers: schema_sql(format!(
                "SELECT DISTINCT pid FROM ({}) AS writers WHERE pid IS NOT NULL ORDER BY pid",
                log_writer_pids(&q)
            )),
            writer_age: schema_sql(format!(
                "SELECT coalesce(extract(epoch FROM now() - min(a.xact_start)), 0)::float8 \
                 FROM pg_stat_activity AS a \
                 WHERE a.pid <> pg_backend_pid() AND a.pid IN ({writers})",
                writers = log_writer_pids(&q)
            )),
            needs_ticket: SqlStr::from_static(
                "SELECT current_setting('transaction_isolation') <> 'read committed' \
                        AND pg_current_xact_id_if_assigned() IS NOT NULL",
            ),
            lock_log: schema_sql(format!("LOCK TABLE {q}.es_events IN ROW EXCLUSIVE MODE")),
            commit_ticket: schema_sql(format!(
                "INSERT INTO {q}.es_commit_tickets DEFAULT VALUES \
                 RETURNING xmin::text::bigint, pg_current_xact_id()::text::bigint"
            )),
            lag_after: schema_sql(format!(
                "SELECT count(*), coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8 \
                 FROM {q}.es_events WHERE (txid, sequence) > ($1, $2)"
            )),
            stream_version: schema_sql(format!(
                "SELECT coalesce(max(version), 0) FROM {q}.es_events WHERE stream_id = $1"
            )),
            stream_head: schema_sql(format!(
                "SELECT stream_last.version, stream_last.txid, \
                        greatest(pg_current_xact_id_if_assigned()::text::bigint, \
                                 {CLUSTER_NEXT}, $2::bigint), {CLUSTER_NEXT} \
                 FROM {stream_last}",
                stream_last = stream_last(&q)
            )),
            log_head: schema_sql(format!(
                "SELECT max(txid), {CLUSTER_NEXT} FROM {q}.es_events"
            )),
            find_event_ids: schema_sql(format!(
                "SELECT event_id, stream_id, version, txid, sequence FROM {q}.es_events \
                 WHERE event_id = ANY($1)"
            )),
            load_snapshot: schema_sql(format!(
                "SELECT version, state, revision FROM {q}.es_snapshots WHERE stream_id = $1"
            )),
            // At the same version a snapshot replaces the stored one: that is
            // how one of another revision is replaced.
            save_snapshot: schema_sql(format!(
                "INSERT INTO {q}.es_snapshots AS s (stream_id, version, state, revision) \
                 VALUES ($1, $2, $3::text::json, $4) \
                 ON CONFLICT (stream_id) DO UPDATE \
                 SET version = excluded.version, state = excluded.state, revision = excluded.revision \
                 WHERE excluded.version >= s.version"
            )),
        }
    }
}

/// A statement of this module as sqlx takes it: the text is fixed but for the
/// validated, quoted schema name (see the module comment), and it is shared, so
/// handing it to a query clones a pointer rather than the text.
fn schema_sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// The statements of the checkpoint table of one schema.
#[derive(Debug)]
pub(crate) struct CheckpointStatements {
    pub load: SqlStr,
    pub compare_and_set: SqlStr,
    pub insert_first: SqlStr,
}

impl CheckpointStatements {
    pub fn new(schema: &SchemaName) -> Self {
        let q = schema.quoted();
        Self {
            load: schema_sql(format!(
                "SELECT commit_key, sequence FROM {q}.es_checkpoints WHERE projection = $1"
            )),
            compare_and_set: schema_sql(format!(
                "UPDATE {q}.es_checkpoints SET commit_key = $4, sequence = $5 \
                 WHERE projection = $1 AND commit_key = $2 AND sequence = $3"
            )),
            insert_first: schema_sql(format!(
                "INSERT INTO {q}.es_checkpoints (projection, commit_key, sequence) \
                 VALUES ($1, $2, $3) ON CONFLICT (projection) DO NOTHING"
            )),
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
