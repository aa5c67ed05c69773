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
