//! # es-core: event sourcing without a backend
//!
//! The backend-free heart of the `es-*` workspace: aggregates, events and their
//! envelopes, the [`EventStore`] contract, a [`Repository`] that executes
//! commands with optimistic concurrency, catch-up-then-live
//! [`Subscription`]s, exactly-once [`ProjectionRunner`]s, snapshots,
//! upcasting, and a complete [`InMemoryStore`]. Backends live in their own
//! crates (`es-sqlite`, `es-postgres`); RabbitMQ delivery in `es-amqp`. The
//! project's `docs/architecture.md` explains how the pieces fit.
//!
//! ## A first app
//!
//! An aggregate, commands executed on a SQLite file, the history read back,
//! and a projection kept in the same file. The dependencies it needs (the
//! es-* crates are not on crates.io yet: depend on a clone with `path =
//! "../es-rs/crates/es-core"`, or on the repository with `git`; once they
//! are published, `es-core = "0.1"`):
//!
//! ```toml
//! [dependencies]
//! es-core = { git = "<URL of the es-rs repository>" }
//! es-sqlite = { git = "<URL of the es-rs repository>" }
//! futures = "0.3"
//! serde = { version = "1", features = ["derive"] }
//! thiserror = "2"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! ```
//! use es_core::{
//!     async_trait, Aggregate, BoxError, DomainEvent, EventStore, ExecuteError, Projection,
//!     ProjectionRunner, RecordedEvent, Repository,
//! };
//! use es_sqlite::{sqlx, SqliteStore, SqliteTransaction};
//! use futures::TryStreamExt;
//! use serde::{Deserialize, Serialize};
//!
//! /// A door that can be opened once: the aggregate.
//! struct Door;
//!
//! /// What happens to a door: the events, stored as JSON under their type.
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! enum DoorEvent {
//!     Opened { by: String },
//! }
//!
//! impl DomainEvent for DoorEvent {
//!     fn event_type(&self) -> &'static str {
//!         match self {
//!             DoorEvent::Opened { .. } => "Opened",
//!         }
//!     }
//! }
//!
//! /// Why a door refuses a command.
//! #[derive(Debug, thiserror::Error)]
//! #[error("the door is already open")]
//! struct AlreadyOpen;
//!
//! impl Aggregate for Door {
//!     const TYPE: &'static str = "door"; // streams `door-<id>`
//!     type State = bool; // open?
//!     type Command = String; // who opens it
//!     type Event = DoorEvent;
//!     type Error = AlreadyOpen;
//!
//!     // Decide from the state: events to record, or a refusal.
//!     fn handle(open: &bool, who: String) -> Result<Vec<DoorEvent>, AlreadyOpen> {
//!         if *open {
//!             return Err(AlreadyOpen);
//!         }
//!         Ok(vec![DoorEvent::Opened { by: who }])
//!     }
//!
//!     // Fold an event into the state.
//!     fn apply(_: bool, event: &DoorEvent) -> bool {
//!         match event {
//!             DoorEvent::Opened { .. } => true,
//!         }
//!     }
//! }
//!
//! /// A read model: who opened which door, in a table of the same file.
//! struct Openings;
//!
//! #[async_trait]
//! impl Projection<SqliteTransaction> for Openings {
//!     fn name(&self) -> &str {
//!         "openings" // the key of its checkpoint
//!     }
//!
//!     // Runs in the transaction that also moves the checkpoint: each event
//!     // is applied exactly once.
//!     async fn apply(&self, tx: &mut SqliteTransaction, event: &RecordedEvent) -> Result<(), BoxError> {
//!         let DoorEvent::Opened { by } = event.decode::<DoorEvent>()?;
//!         sqlx::query("INSERT INTO openings (door, opened_by) VALUES (?1, ?2)")
//!             .bind(event.stream_id.as_str())
//!             .bind(by)
//!             .execute(&mut **tx)
//!             .await?;
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     // One SQLite file holds the log, the checkpoints and the read model
//!     // (created and migrated if new). Any path will do.
//!     let path = std::env::temp_dir().join(format!("first-app-{}.db", std::process::id()));
//!     let store = SqliteStore::open(&path).await?;
//!
//!     // Execute commands: load, decide, append after the version loaded.
//!     let doors = Repository::<Door, _>::new(store.clone());
//!     let executed = doors.execute("front", "ada".to_string()).await?;
//!     assert_eq!(executed.version, 1);
//!     let refused = doors.execute("front", "bob".to_string()).await;
//!     assert!(matches!(refused, Err(ExecuteError::Rejected(AlreadyOpen))));
//!
//!     // Read the history back: the stream's events, decoded.
//!     let stream = Repository::<Door, SqliteStore>::stream_id("front")?;
//!     let history: Vec<RecordedEvent> = store.read_stream(&stream, 1).try_collect().await?;
//!     let events: Vec<DoorEvent> =
//!         history.iter().map(|event| event.decode()).collect::<Result<_, _>>()?;
//!     assert_eq!(events, [DoorEvent::Opened { by: "ada".into() }]);
//!
//!     // Project: create the table, then apply what the log holds.
//!     sqlx::query("CREATE TABLE IF NOT EXISTS openings (door TEXT NOT NULL, opened_by TEXT NOT NULL)")
//!         .execute(store.pool())
//!         .await?;
//!     let projector = ProjectionRunner::new(store.clone(), store.checkpoints(), Openings)?;
//!     projector.catch_up().await?;
//!     let rows: Vec<(String, String)> = sqlx::query_as("SELECT door, opened_by FROM openings")
//!         .fetch_all(store.pool())
//!         .await?;
//!     assert_eq!(rows, [("door-front".to_string(), "ada".to_string())]);
//!
//!     # drop(store);
//!     # let _ = std::fs::remove_file(&path);
//!     Ok(())
//! }
//! ```
//!
//! In a service the projector runs on (`ProjectionRunner::run`, under a
//! lease from es-lease when several instances run); es-postgres offers the
//! same store, checkpoints and transactions on PostgreSQL.
//!
//! ## Layout
//!
//! Each file holds one concept and opens with why it exists.
//!
//! * Writing: `aggregate.rs` ([`Aggregate`]: decides and folds, pure),
//!   `event.rs` ([`DomainEvent`] names and encodes, [`NewEvent`] carries it
//!   to the store), `metadata.rs` ([`Metadata`]: correlation, causation and
//!   the [`TraceContext`] an event carries), `stream_id.rs` ([`StreamId`]),
//!   `expected_version.rs` ([`ExpectedVersion`]: what a writer believes).
//! * The contract: `event_store.rs` ([`EventStore`]: every guarantee a store
//!   keeps is stated on it), `error.rs` ([`StoreError`], [`DecodeError`]),
//!   `invalid_input.rs` ([`InvalidInput`]: which field broke which limit),
//!   and what a store hands back: `recorded_event.rs` ([`RecordedEvent`]),
//!   `replay_event.rs` ([`ReplayEvent`]), `position.rs` ([`Position`] in the
//!   global log, in commit order).
//! * [`backend`]: the rules every backend applies, written once
//!   ([`backend::validate_append`] and the [`backend::limits`],
//!   [`backend::check_expected_version`], [`backend::previous_append`],
//!   [`backend::check_checkpoint`]); users of a store never call them.
//! * [`repository`]: [`Repository`] loads, decides, appends, caches and
//!   retries; an [`IdempotencyKey`] makes a command safe to send again;
//!   snapshots (`snapshot.rs`: [`SnapshotStore`], [`SnapshotPolicy`]) shorten
//!   long streams; [`Upcasters`] (`upcasters.rs`) read old schema versions.
//! * [`subscription`]: [`Subscription`] follows the global log, catch-up then
//!   live, through one gap-safe read; [`UndecodablePolicy`]
//!   (`undecodable_policy.rs`) says what readers do with bad stored data.
//! * [`projection`]: [`ProjectionRunner`] applies a batch and moves its
//!   checkpoint in one transaction ([`Projection`], [`CheckpointStore`]),
//!   and reports a catch-up's progress
//!   ([`projection::CatchUpProgress`], `catch_up_progress.rs`).
//! * [`dcb`]: Dynamic Consistency Boundaries (dcb.events): tagged events,
//!   reads by [`dcb::Query`], appends with an [`dcb::AppendCondition`]
//!   checked atomically ([`dcb::DcbStore`]), and a runnable example of each
//!   of the specification's scenarios.
//! * `in_memory/`: [`InMemoryStore`] and [`InMemoryProjectionStore`], a
//!   complete store that keeps every guarantee.
//! * `testing` (feature `testing`): the conformance suite every backend
//!   runs and a given/when/then kit for aggregates.
//!
//! Outside this crate: leases and leader election in `es-lease`; metric
//! names, follower lag, the W3C trace context and URL redaction in
//! `es-telemetry`; stores in `es-sqlite` and `es-postgres`; RabbitMQ in
//! `es-amqp`. The project's `docs/architecture.md` names the file where each
//! rule lives.
//!
//! ```
//! use es_core::{Aggregate, DomainEvent, ExecuteError, InMemoryStore, Repository};
//! use serde::{Deserialize, Serialize};
//!
//! /// A door that can be opened once.
//! struct Door;
//!
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! enum DoorEvent {
//!     Opened { by: String },
//! }
//!
//! impl DomainEvent for DoorEvent {
//!     fn event_type(&self) -> &'static str {
//!         match self {
//!             DoorEvent::Opened { .. } => "Opened",
//!         }
//!     }
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("the door is already open")]
//! struct AlreadyOpen;
//!
//! impl Aggregate for Door {
//!     const TYPE: &'static str = "door";
//!     type State = bool; // open?
//!     type Command = String; // who opens it
//!     type Event = DoorEvent;
//!     type Error = AlreadyOpen;
//!
//!     fn handle(open: &bool, who: String) -> Result<Vec<DoorEvent>, AlreadyOpen> {
//!         if *open {
//!             return Err(AlreadyOpen);
//!         }
//!         Ok(vec![DoorEvent::Opened { by: who }])
//!     }
//!
//!     fn apply(_: bool, event: &DoorEvent) -> bool {
//!         match event {
//!             DoorEvent::Opened { .. } => true,
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let repository = Repository::<Door, _>::new(InMemoryStore::new());
//!
//! let executed = repository.execute("front", "ada".to_string()).await?;
//! assert_eq!(executed.version, 1);
//! assert!(executed.state);
//!
//! // The aggregate refuses a second opening: a domain error, not a store error.
//! let refused = repository.execute("front", "bob".to_string()).await;
//! assert!(matches!(refused, Err(ExecuteError::Rejected(AlreadyOpen))));
//! # Ok::<(), ExecuteError<AlreadyOpen>>(())
//! # }).unwrap();
//! ```
//!
//! ## Guarantees
//!
//! Every store keeps the guarantees listed on [`EventStore`]: optimistic
//! concurrency, idempotent and atomic appends, per-stream order, a global log
//! that never skips a late commit, catch-up-then-live subscriptions,
//! exactly-once projections, clear errors for bad stored data, the same
//! input limits everywhere, and values (numbers included) that read back
//! exactly as written. The [`Repository`] adds its own: a refusal or no-op
//! decided from its warm cache is confirmed against the stream; a command
//! with an [`IdempotencyKey`] re-sent after an ambiguous failure returns its
//! original outcome ([`Repository::execute_with_options`]); snapshots carry
//! [`Aggregate::SNAPSHOT_REVISION`]; an [`Upcasters`] chain must reach the
//! current schema version exactly ([`DecodeFailure::SchemaVersionGap`]). The
//! `testing` feature ships the conformance suite that checks them
//! (`conformance_tests!`) and a given/when/then kit for aggregates.

#![warn(missing_docs)]

mod aggregate;
pub mod backend;
pub mod dcb;
mod error;
mod event;
mod event_store;
mod exact_json;
mod expected_version;
mod in_memory;
mod invalid_input;
mod liveness;
mod metadata;
mod position;
pub mod projection;
mod recorded_event;
mod replay_event;
pub mod repository;
mod snapshot;
mod stream_id;
pub mod subscription;
mod undecodable_policy;
mod upcasters;

#[cfg(feature = "testing")]
pub mod testing;

pub use aggregate::Aggregate;
pub use error::{BoxError, DecodeError, DecodeFailure, StoreError};
pub use event::{DomainEvent, NewEvent};
pub use event_store::{AppendOutcome, EventStore};
pub use expected_version::ExpectedVersion;
pub use in_memory::{InMemoryProjectionStore, InMemoryStore};
pub use invalid_input::{InputField, InvalidInput};
pub use liveness::Liveness;
pub use metadata::Metadata;
pub use position::Position;
pub use projection::{CheckpointStore, Projection, ProjectionError, ProjectionRunner};
pub use recorded_event::RecordedEvent;
pub use replay_event::ReplayEvent;
pub use repository::{
    ExecuteError, ExecuteOptions, Executed, IdempotencyKey, Loaded, Repository, RetryPolicy,
};
pub use snapshot::{Snapshot, SnapshotPolicy, SnapshotStore};
pub use stream_id::StreamId;
pub use subscription::Subscription;
pub use undecodable_policy::UndecodablePolicy;
pub use upcasters::Upcasters;

/// The W3C trace context a [`Metadata`] carries (from `es-telemetry`).
pub use es_telemetry::TraceContext;

/// Re-exported so backends and users name the same versions.
pub use async_trait::async_trait;
