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
//! ## Map of the modules
//!
//! * Writing: [`Aggregate`] decides, [`DomainEvent`] names and encodes,
//!   [`NewEvent`] carries an event with its [`Metadata`] to the store;
//!   [`StreamId`] names the stream and [`ExpectedVersion`] guards it.
//! * The contract: [`EventStore`] (`event_store.rs`), its errors
//!   ([`StoreError`], [`DecodeError`], [`InvalidInput`]), and what it hands
//!   back ([`RecordedEvent`], [`ReplayEvent`], [`Position`], [`AppendOutcome`]).
//! * Rules every backend shares: [`limits`] and [`validate_append`]
//!   (`validation.rs`), [`previous_append`] (`idempotent_append.rs`: is a
//!   batch an exact re-send?), [`check_expected_version`] and
//!   [`check_checkpoint`] (`projection/checkpoint_rule.rs`), and
//!   [`redact_url`] (`redact.rs`: passwords out of logs and errors).
//! * Running alone: leases and leader election live in the `es-lease` crate.
//! * Using a store: [`Repository`] (`repository/`: load, decide, append,
//!   cache, retry, snapshots via [`SnapshotStore`]), [`Upcasters`] for old
//!   schema versions, [`Subscription`] to follow the global log, and
//!   [`ProjectionRunner`] with [`Projection`] and [`CheckpointStore`] for
//!   read models; [`UndecodablePolicy`] says what readers do with bad data.
//! * Operating: [`metrics`] (every metric's name, unit and labels; the
//!   `metrics` feature records them), [`Lag`] (how far a follower is
//!   behind), [`CatchUpProgress`] / [`CatchUpMeter`] (`progress.rs`: done, total,
//!   rate and time left of a catch-up or rebuild, published by
//!   [`ProjectionRunner::catch_up_progress`]; no UI here, `es-progress` draws it)
//!   and [`TraceContext`] (the W3C `traceparent` an event carries in its
//!   [`Metadata`], so a consumer's span joins the command's trace).
//! * [`InMemoryStore`] and [`InMemoryProjectionStore`]: a complete store.
//! * `testing` (feature): the conformance suite and a given/when/then kit.
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
mod error;
mod event;
mod event_store;
mod expected_version;
mod idempotent_append;
mod in_memory;
mod invalid_input;
mod lag;
pub mod limits;
mod metadata;
pub mod metrics;
mod position;
mod progress;
mod projection;
mod recorded_event;
mod redact;
mod replay_event;
mod repository;
mod snapshot;
mod stream_id;
mod subscription;
mod trace_context;
mod undecodable_policy;
mod upcasters;
mod validation;

#[cfg(feature = "testing")]
pub mod testing;

pub use aggregate::Aggregate;
pub use error::{BoxError, DecodeError, DecodeFailure, StoreError};
pub use event::{DomainEvent, NewEvent};
pub use event_store::{check_expected_version, AppendOutcome, EventStore};
pub use expected_version::ExpectedVersion;
pub use idempotent_append::{previous_append, RecordedId};
pub use in_memory::{InMemoryProjectionStore, InMemoryStore};
pub use invalid_input::{InputField, InvalidInput};
pub use lag::Lag;
pub use metadata::Metadata;
pub use position::Position;
pub use progress::{CatchUpMeter, CatchUpProgress};
pub use projection::{
    check_checkpoint, CheckpointStore, Projection, ProjectionError, ProjectionRunner,
};
pub use recorded_event::RecordedEvent;
pub use redact::{redact_url, url_passwords};
pub use replay_event::ReplayEvent;
pub use repository::{
    ExecuteError, ExecuteOptions, Executed, IdempotencyKey, Loaded, Repository, RetryPolicy,
    DEFAULT_CACHE_CAPACITY,
};
pub use snapshot::{Snapshot, SnapshotPolicy, SnapshotStore};
pub use stream_id::StreamId;
pub use subscription::{Subscription, DEFAULT_PAGE_SIZE, DEFAULT_POLL_INTERVAL};
pub use trace_context::{TraceContext, TraceContextError};
pub use undecodable_policy::UndecodablePolicy;
pub use upcasters::Upcasters;
pub use validation::{check_consumer_name, check_projection_name, validate_append};

/// Re-exported so backends and users name the same versions.
pub use async_trait::async_trait;
