//! # es-amqp: RabbitMQ delivery that loses nothing
//!
//! The event store is the outbox. A [`Relay`] follows any
//! [`es_core::EventStore`]'s global log and publishes every event to a topic
//! exchange with publisher confirms (a bounded window in flight),
//! `mandatory`, persistent delivery and `message_id` = event id; its
//! checkpoint moves only past what the broker confirmed. A [`Consumer`]
//! reads a durable quorum queue, hands events to a [`Handler`] in order,
//! acknowledges only after the handler committed, retries a failing event in
//! place and then dead-letters it with the failure in its headers, and
//! reconnects on its own. An [`IdempotentHandler`] records processed event
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
//!     ConsumerConfig::new(url, "BOOKING_TX_EVENT", "parking.bookings").with_binding_keys(["booking.#"]),
//!     IdempotentHandler::new("parking", state.clone(), Slots),
//! )?;
//! consumer.declare().await?;
//!
//! let relay = Relay::new(store.clone(), InMemoryProjectionStore::<()>::new(),
//!     RelayConfig::new(url, "booking-relay", "BOOKING_TX_EVENT"));
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
//! [`IdempotencyStore`]s on those databases.

#![warn(missing_docs)]

mod backoff;
mod checkpoint;
mod connection;
mod consumer;
mod consumer_config;
mod consumer_stats;
mod error;
mod handler;
mod idempotency;
mod in_memory_idempotency;
#[cfg(feature = "postgres")]
mod postgres_idempotency;
mod redact;
mod relay;
mod relay_config;
mod routing;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_idempotency;
#[cfg(feature = "sqlite")]
mod sqlite_idempotency;
mod topology;
pub mod wire;

pub use backoff::Backoff;
pub use checkpoint::{CheckpointError, RelayCheckpoint};
pub use consumer::Consumer;
pub use consumer_config::ConsumerConfig;
pub use consumer_stats::ConsumerStats;
pub use error::{ConsumerError, RelayError, WireError};
pub use handler::Handler;
pub use idempotency::{IdempotencyStore, IdempotentHandler, Recorded, TransactionalHandler};
pub use in_memory_idempotency::{ConcurrentRecord, InMemoryIdempotencyStore, InMemoryTransaction};
#[cfg(feature = "postgres")]
pub use postgres_idempotency::PostgresIdempotencyStore;
pub use redact::redact_url;
pub use relay::Relay;
pub use relay_config::RelayConfig;
pub use routing::RoutingKey;
#[cfg(feature = "sqlite")]
pub use sqlite_idempotency::SqliteIdempotencyStore;
pub use topology::QueueType;

/// Re-exported so users name the same lapin version.
pub use lapin;
