//! # es-amqp: RabbitMQ delivery that loses nothing
//!
//! The event store is the outbox. A [`Relay`] follows any
//! [`es_core::EventStore`]'s global log and publishes every event to a topic
//! exchange with publisher confirms (a bounded window in flight),
//! `mandatory`, persistent delivery and `message_id` = event id; its
//! checkpoint moves only past what the broker confirmed. A [`Consumer`]
//! reads a durable quorum queue, hands events to a [`Handler`] in order,
//! acknowledges only after the handler committed, retries a failing event in
//! place and then dead-letters it with the failure in its headers, parks an
//! event its handler cannot apply yet ([`NotYet`]: an earlier event of its
//! stream is missing) the same way instead of recording it, and reconnects
//! on its own. An [`IdempotentHandler`] records processed event
//! ids in the consumer's own database in the same transaction as its state
//! change, so redeliveries are acknowledged without being applied twice.
//!
//! ```no_run
//! use es_amqp::{
//!     Consumer, ConsumerConfig, IdempotentHandler, InMemoryIdempotencyStore,
//!     InMemoryTransaction, Relay, RelayConfig, TransactionalHandler,
//! };
//! use es_core::{async_trait, BoxError, EventStore, ExpectedVersion, InMemoryProjectionStore,
//!     InMemoryStore, NewEvent, RecordedEvent, StreamId};
//!
//! /// Counts bookings per slot.
//! struct Slots;
//! #[async_trait]
//! impl TransactionalHandler<InMemoryTransaction<u64>> for Slots {
//!     async fn apply(&self, tx: &mut InMemoryTransaction<u64>, _: &RecordedEvent, _: Option<u64>)
//!         -> Result<(), BoxError> {
//!         tx.update(|n| *n += 1);
//!         Ok(())
//!     }
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "amqp://guest:guest@127.0.0.1:5672/%2f";
//! let store = InMemoryStore::new();
//!
//! // The consumer's queue exists (and collects) before anything is published.
//! let state = InMemoryIdempotencyStore::<u64>::new();
//! let consumer = Consumer::new(
//!     ConsumerConfig::builder(url, "BOOKING_TX_EVENT", "parking.bookings")
//!         .with_binding_keys(["booking.#"])
//!         .build()?,
//!     IdempotentHandler::new("parking", state.clone(), Slots)?,
//! );
//! consumer.declare().await?;
//!
//! let relay = Relay::new(store.clone(), InMemoryProjectionStore::<()>::new(),
//!     RelayConfig::builder(url, "booking-relay", "BOOKING_TX_EVENT").build()?);
//! tokio::spawn(async move { relay.run().await });
//! tokio::spawn(async move { consumer.run().await });
//!
//! let stream = StreamId::new("booking-1")?;
//! store.append(&stream, ExpectedVersion::NoStream,
//!     vec![NewEvent::raw("BookingCreated", serde_json::json!({"slot": "A-1"}))]).await?;
//! # Ok(()) }
//! ```
//!
//! See [`wire`] for the message format, [`Consumer`] for the ordering and
//! retry guarantees, and the `sqlite` / `postgres` features for
//! [`IdempotencyStore`]s on those databases. The workspace's
//! `docs/architecture.md` places this crate among the others.
//!
//! # Module map
//!
//! * `relay/` — the [`Relay`]: its [`RelayConfig`] builder, checkpoint,
//!   [`RoutingKey`], one connection's publishing session, the checks that
//!   refuse or park an event the broker can never take
//!   ([`UnpublishablePolicy`]) and [`RelayError`].
//! * `consumer/` — the [`Consumer`]: its [`ConsumerConfig`] builder,
//!   [`Handler`], [`NotYet`], queue topology, dead-lettering, [`ConsumerStats`] and
//!   [`ConsumerError`]; `consumer/group/`: the [`ConsumerGroup`] that
//!   splits a queue's work over partitions by stream id.
//! * `inbox/` — exactly-once handling: [`IdempotencyStore`],
//!   [`IdempotentHandler`], the in-memory store and the SQLite / PostgreSQL
//!   stores.
//! * [`wire`] — the message format, both ways.
//! * Shared: [`Backoff`] (the one backoff policy), [`ConfigError`] (what
//!   the builders refuse), [`redact_url`] (es-core's URL redaction, re-exported), the
//!   link to the broker that relay and consumer configs share (URL, name,
//!   reconnect backoff, [`DEFAULT_CONNECT_TIMEOUT`],
//!   [`DEFAULT_REQUEST_TIMEOUT`], [`DEFAULT_HEARTBEAT`]), the connection helpers (named
//!   connections, bounded waits) and exchange helpers.

#![warn(missing_docs)]

mod backoff;
mod config_error;
mod connection;
mod consumer;
mod exchange;
mod inbox;
mod link;
mod link_limits;
mod relay;
#[cfg(test)]
mod test_events;
pub mod wire;

pub use backoff::Backoff;
pub use config_error::{ConfigError, SHORT_STRING_MAX};
pub use connection::DEFAULT_CONNECT_TIMEOUT;
pub use consumer::{
    config::{ConsumerConfig, ConsumerConfigBuilder},
    error::ConsumerError,
    group::{ConsumerGroup, ConsumerGroupConfig, ConsumerGroupConfigBuilder, PartitionState},
    handler::Handler,
    not_yet::NotYet,
    stats::ConsumerStats,
    topology::QueueType,
    Consumer,
};
/// The workspace's one URL redaction (see [`es_telemetry::redact_url`]).
pub use es_telemetry::redact_url;
#[cfg(feature = "postgres")]
pub use inbox::postgres::PostgresIdempotencyStore;
#[cfg(feature = "sqlite")]
pub use inbox::sqlite::SqliteIdempotencyStore;
pub use inbox::{
    idempotent_handler::IdempotentHandler,
    in_memory::{ConcurrentRecord, InMemoryIdempotencyStore, InMemoryTransaction},
    IdempotencyStore, Recorded, TransactionalHandler,
};
pub use link::{DEFAULT_HEARTBEAT, DEFAULT_REQUEST_TIMEOUT};
pub use link_limits::MIN_FRAME_MAX;
pub use relay::{
    checkpoint::{CheckpointError, RelayCheckpoint},
    config::{RelayConfig, RelayConfigBuilder, DEFAULT_MAX_MESSAGE_SIZE},
    error::RelayError,
    routing_key::RoutingKey,
    unpublishable::{Unpublishable, UnpublishablePolicy, HEADER_UNPUBLISHABLE, PARKED_ROUTING_KEY},
    Relay,
};
pub use wire::WireError;

/// Re-exported so users name the same lapin version.
pub use lapin;
