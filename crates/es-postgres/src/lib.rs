//! # es-postgres: the production event store on PostgreSQL
//!
//! An [`es_core::EventStore`], [`es_core::SnapshotStore`] and
//! [`es_core::CheckpointStore`] on PostgreSQL through sqlx: one append
//! statement per batch, a global log that never skips a late commit, live
//! subscriptions woken by `LISTEN/NOTIFY`, and projections whose checkpoint
//! commits with their rows in any database. `docs/architecture.md` explains
//! how it fits with the other crates.
//!
//! Modules:
//! * `config`: [`PostgresConfig`], the URL (redacted when shown), schema,
//!   pool size, notify interval and session limits;
//! * `session_limits`: [`SessionLimits`], the timeouts and keepalives every
//!   session we open sets on itself (see "Bounded sessions" below);
//! * `schema_name`: [`SchemaName`], the one piece of text put into SQL;
//! * `store`: [`PostgresStore`], split into connecting, appending, reading,
//!   decoding rows and snapshots;
//! * `statements`: the SQL of one schema, formatted once;
//! * `migrations` (and `migrations/*.sql`): the embedded per-schema runner;
//! * `append_notifications`: waking subscribers here and in other processes;
//! * `postgres_checkpoints`: [`PostgresCheckpoints`] for projections;
//! * `error`: [`PostgresError`], failures before the store is usable;
//! * `restored_database`: [`RestoredDatabase`], a database restored from
//!   another cluster (see "A restored database" below).
//!
//! ```
//! use es_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId, Subscription};
//! use es_postgres::{PostgresConfig, PostgresStore};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let url = std::env::var("DATABASE_URL")
//!     .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
//! # let schema = format!("es_doc_{}", uuid::Uuid::new_v4().simple());
//! let config = PostgresConfig::new(url).with_schema(schema.as_str())?.with_pool_size(4);
//! let store = PostgresStore::connect_with(config).await?;
//! store.migrate().await?; // idempotent; run it at start-up
//!
//! let stream = StreamId::new("door-1")?;
//! let outcome = store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::raw("Opened", serde_json::json!({}))])
//!     .await?;
//! assert_eq!(outcome.version, 1);
//!
//! let mut subscription = Subscription::new(store.clone(), Position::START);
//! assert_eq!(subscription.next().await?.event_type, "Opened");
//! # sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(store.pool()).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## Schemas and settings
//!
//! Everything lives in one schema ([`SchemaName`], default `es`), so several
//! applications or test runs share a database. The schema name is the only
//! text formatted into SQL: it must match `^[a-z_][a-z0-9_]{0,62}$` and is
//! quoted as well; every value is a bind parameter. [`PostgresConfig`] takes
//! the URL (TLS through `sslmode=require`/`verify-full`, with rustls), the
//! schema and the pool size; its `Debug` output and every [`PostgresError`]
//! show the URL with the password replaced by `***`.
//!
//! [`PostgresStore::migrate`] applies the embedded migrations explicitly. The
//! runner is per schema (an `es_migrations` table in each schema) and holds a
//! transaction-level advisory lock, so concurrent start-ups are safe.
//!
//! The crate needs sqlx 0.9.1 or later: 0.9.0 left Nagle's algorithm on for
//! TCP connections (sqlx issue #4335, fixed in 0.9.1), so a request that
//! spans several TCP segments, such as a large batched upsert, waited about
//! 40 ms for the server's delayed ACK (a 5× slower projection catch-up).
//!
//! ## Appends: one statement, one round trip
//!
//! An append is a single SQL statement, whatever the batch size, run in
//! autocommit mode (it is its own transaction: no `BEGIN`/`COMMIT` round
//! trips) that inserts the batch (one row, or `UNNEST` of arrays) with
//! versions numbered after the expected one, if the check in its `WHERE`
//! holds: for `Exact(n)` that version `n` exists, for `StreamExists` that the
//! stream has events; `Any` numbers after the stream's current version. There
//! is no table of streams: the unique index on `(stream_id, version)` is the
//! concurrency control. Two writers appending after the same version insert
//! the same first version; the second waits for the first to commit, and its
//! statement then fails as a whole. Writers to different streams never wait
//! for each other. Only when the statement fails does the store run more queries
//! to tell the cases apart: an exact re-send of a committed batch (same ids at
//! the same versions of the same stream) returns the original
//! [`es_core::AppendOutcome`]; an id recorded anywhere else is
//! [`es_core::StoreError::DuplicateEventId`]; otherwise it is a
//! [`es_core::StoreError::Conflict`] with the stream's actual version (or
//! the fence [`es_core::StoreError::TransactionTooOld`]: see "Per-stream
//! order" below). Nothing is written on any failure: the
//! statement is atomic. (A store handle's first append or read also runs
//! one query, once: the check of "A restored database" below.)
//!
//! ## The global log: commit keys and the writers' horizon, not a bare sequence
//!
//! A `bigserial` is taken at insert time but becomes visible at commit, so a
//! reader that follows `sequence > last_seen` can skip an append that
//! commits late. Each event row therefore also stores a *commit key* (in the
//! `txid` column), taken by the append statement:
//! `greatest(pg_current_xact_id(), pg_snapshot_xmax(pg_current_snapshot()), ticket)`.
//! [`es_core::EventStore::read_all`] first computes the *horizon* of this log
//! ([`PostgresStore::horizon`]) in a statement of its own: the least of the
//! cluster's next transaction id and the ids of the running transactions
//! that hold a writer's lock (`ROW EXCLUSIVE` or stronger) on this schema's
//! `es_events`. It then reads, in a later statement, only rows whose key is
//! below it. No transaction can still commit an event below the horizon: a
//! writer that held the lock was counted, and one that takes the lock later
//! takes its key from a newer snapshot. So no event can ever appear behind
//! a position already handed out. Positions are
//! [`es_core::Position`]`{ commit: key, sequence }`, ordered by both, and a
//! subscriber checkpoints that pair. `docs/adr/horizon-from-the-logs-writers.md`
//! gives the full argument.
//!
//! We chose this over the alternatives described in `docs/architecture.md`:
//!
//! * serialising appends behind one lock held to commit gives dense positions
//!   but lets only one append commit at a time; with `synchronous_commit = on`
//!   that caps the whole store at one WAL flush per append. With commit
//!   keys, concurrent appends share group commits (the `pg_concurrent`
//!   benchmark compares the two).
//! * wait-on-gap with timeouts loses events when a transaction outlives the
//!   timeout; we do not use it.
//! * the cluster-wide `pg_snapshot_xmin` (what this crate used before): any
//!   write transaction anywhere on the server stalled every reader.
//!
//! An event committed a moment ago can be held back for the few
//! milliseconds a concurrent writer of the log needs to finish. When a read
//! would otherwise return an empty page while committed events are held
//! back, it waits for them up to [`HELD_BACK_WAIT`] (recomputing the
//! horizon, never skipping anything), so a read right after an append sees
//! it in the usual case.
//!
//! **What holds readers back.** Only transactions that write this store's
//! log: a transaction of another database, another schema, or one that never
//! wrote `es_events` (a batch job, a migration of other tables, a leaked
//! idle-in-transaction session) adds no wait. A transaction that appended
//! through [`PostgresStore::append_in`] (or otherwise writes `es_events`)
//! holds this store's readers at its id until it commits or rolls back:
//! keep those short. `es horizon` lists them. Prepared (two-phase)
//! transactions that wrote the log count until resolved.
//!
//! The sessions this crate opens limit themselves (see "Bounded sessions"
//! below).
//!
//! **Per-stream order.** An append to a stream runs after the stream's last
//! event was committed and visible to it (the unique index on
//! `(stream_id, version)` makes a concurrent writer wait and try again), so
//! its key is at least that event's; equal keys are ordered by sequence.
//! This holds for [`PostgresStore::append_in`] in a transaction that took its
//! id long before: its key is taken when it appends. In `REPEATABLE READ` or
//! `SERIALIZABLE`, whose snapshot may be older than the append, an
//! `append_in` from a transaction that already has an id first takes the
//! log's lock and a *commit ticket*, a subtransaction id drawn after the
//! lock, which raises its key. The append statement still compares keys and
//! reports the transient [`es_core::StoreError::TransactionTooOld`] should
//! the stream's last event ever carry a larger key (a fence; unreachable on a
//! healthy cluster). Begin the caller's transaction through sqlx
//! (`begin`/`begin_with`), not with a raw `BEGIN`: `append_in` needs its
//! savepoint.
//!
//! ## Bounded sessions
//!
//! A process that freezes (`kill -STOP`) or whose link goes silent inside a
//! transaction would keep its row locks (and, if the transaction appended
//! through [`PostgresStore::append_in`], hold back this store's readers) for
//! as long as its session lives. Every connection this
//! crate opens (the store's pool, checkpoint pools, the `LISTEN` connection,
//! lease connections) therefore sets [`SessionLimits`] right after connecting
//! (one `SET` script; not startup options, which PgBouncer refuses):
//! `idle_in_transaction_session_timeout` (default 3 s: as long as a lease
//! survives a frozen holder), `lock_timeout` (5 s), `statement_timeout`
//! (30 s), and the server's TCP keepalives with
//! `tcp_user_timeout` (a silent link dropped after 4 s). Change them with
//! [`PostgresConfig::with_session_limits`], or for one limit in the URL's
//! `options` parameter, which wins. A caller's own transaction on the
//! store's pool ([`PostgresStore::append_in`], a projection's batch) is
//! ended by the server when it sends nothing for the idle limit; the
//! migration runner lifts the lock and statement limits for its own
//! transaction.
//!
//! ## A restored database
//!
//! Commit keys come from the cluster's counter (an `xid8`: the 32-bit
//! transaction id with its wrap-around epoch). A database copied with a dump
//! (`pg_dump`/`pg_restore`, logical replication, copied rows) into another
//! cluster keeps the old cluster's ids, which may lie far ahead of the new
//! cluster's counter. New events would then be ordered before the stored ones,
//! `read_all` would hold the stored events back (waiting for them) until the
//! counter passed them, and a subscriber resuming from a stored checkpoint
//! would receive nothing. No stored key and no checkpoint can pass the
//! cluster's next transaction id (`pg_snapshot_xmax(pg_current_snapshot())`) on
//! a healthy cluster, so the store checks: [`PostgresStore::migrate`] fails with
//! [`PostgresError::RestoredDatabase`]; each store handle checks before its
//! first append or read; a read that finds nothing to return checks its
//! checkpoint and the events after it, and an append refused behind a stream's
//! last event checks that event. Those report the non-transient
//! [`es_core::StoreError::NeedsRepair`] with a [`RestoredDatabase`] inside,
//! which names the id found, the cluster's next id and the repair epoch.
//!
//! **Repair: move the cluster's counter past the stored ids.** PostgreSQL's
//! `pg_resetwal -e` sets the epoch of the next transaction id; the epoch is kept
//! nowhere but in the control file, so PostgreSQL accepts any value, and a
//! larger one puts every new id above every stored one. Nothing stored is
//! rewritten, so positions and checkpoints kept anywhere (projection
//! databases, relays, other services) stay valid.
//!
//! 1. Find the epoch: [`RestoredDatabase::repair_epoch`] (in the error's
//!    message), or `SELECT (max(txid) >> 32) + 1 FROM <schema>.es_events` for
//!    each event store schema of the cluster; take the largest.
//! 2. Stop the server cleanly: `pg_ctl stop -D <data directory> -m fast`.
//! 3. As the operating system user owning the data directory:
//!    `pg_resetwal -e <epoch> <data directory>`.
//! 4. Start the server: `SELECT pg_current_xact_id()` is now at least
//!    `<epoch> * 2^32`, and `migrate` passes.
//! 5. `pg_resetwal` starts a new write-ahead log: take a new base backup and
//!    rebuild standbys from it.
//!
//! A managed service without access to the server's files cannot run
//! `pg_resetwal`: move such a database with a physical backup or point-in-time
//! restore of the original cluster (which keeps its counter), not with a dump.
//! Stop every application process before restoring: a store handle already
//! open while its database was replaced notices in its reads and in appends to
//! existing streams, but could append to a new stream first, and such an event
//! is ordered before the stored ones.
//!
//! ## Live subscriptions
//!
//! After each append the store wakes its own subscribers and a background
//! task sends a coalesced `NOTIFY` (off the append's path: a `NOTIFY` inside
//! the append would serialise all appending commits on PostgreSQL's notify
//! lock), at most one per [`PostgresConfig::with_notify_interval`] (5 ms by
//! default; the first after a quiet spell goes at once, the last of a burst
//! is never dropped). Each store also runs a background task (started with
//! its first subscriber) that `LISTEN`s
//! on a connection of its own, reconnects after losing it, and feeds
//! [`es_core::EventStore::append_notifications`], so subscribers in other
//! processes wake up too. [`es_core::Subscription`] reads pages
//! through the gap-safe query on each wake-up and still polls slowly as a
//! safety net.
//!
//! ## Projections
//!
//! [`PostgresCheckpoints`] works on any pool (the projection database may be
//! another database or server): a projection writes its rows in a
//! [`PostgresTransaction`] and the runner commits the checkpoint in that same
//! transaction with a compare-and-set. [`PostgresStore::checkpoints`] gives a
//! checkpoint store in the event store's own schema.
//!
//! ## Snapshots
//!
//! [`PostgresStore`] is also the [`es_core::SnapshotStore`]: use it with
//! [`es_core::Repository::with_snapshots`]; loading reads the snapshot and
//! then only the stream's tail.
//!
//! ## Stored JSON and limits
//!
//! Payloads, metadata and snapshot states are stored as `json`, the exact
//! text serde_json wrote (`jsonb` would re-normalise numbers: the float
//! `1e16` came back as an integer, `-0.0` as `0`), so every value reads back
//! as the [`serde_json::Value`] that was appended. (A schema created by an
//! older version had `jsonb` columns: [`PostgresStore::migrate`] changes
//! them, rewriting the tables under an exclusive lock; rows written before
//! keep the text `jsonb` had normalised them to.) Every append first runs
//! [`es_core::backend::validate_append`]: input PostgreSQL cannot store (NUL in any
//! text, a stream id over [`es_core::backend::limits::MAX_STREAM_ID_BYTES`], which
//! keeps it within the unique index's row limit even for random text) is a
//! typed [`es_core::StoreError::InvalidInput`], never a retryable backend
//! error. A stored event that cannot be decoded (say, from a restored
//! database) is a [`es_core::StoreError::Decode`] naming its stream, version
//! and type.

#![warn(missing_docs)]

mod append_notifications;
mod config;
mod error;
mod lease;
mod migrations;
mod postgres_checkpoints;
mod restored_database;
mod schema_name;
mod session_limits;
mod statements;
mod store;

pub use config::{
    redact_url, PostgresConfig, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_NOTIFY_INTERVAL, DEFAULT_POOL_SIZE,
};
pub use error::PostgresError;
pub use lease::{
    PostgresLeaseConfig, PostgresLeases, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_LEASE_CONNECT_TIMEOUT, DEFAULT_LEASE_NAMESPACE,
};
pub use postgres_checkpoints::{PostgresCheckpoints, PostgresTransaction};
pub use restored_database::{AheadOfCluster, RestoredDatabase};
pub use schema_name::{InvalidSchemaName, SchemaName, MAX_SCHEMA_NAME_LEN};
pub use session_limits::{
    SessionLimits, DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT, DEFAULT_KEEPALIVE_COUNT,
    DEFAULT_KEEPALIVE_IDLE, DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_LOCK_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
};
pub use store::{PostgresStore, HELD_BACK_WAIT};

/// The sqlx version this crate is built on, for writing projections.
pub use sqlx;
