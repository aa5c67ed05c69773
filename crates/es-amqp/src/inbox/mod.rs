//! Applying each delivered event exactly once.
//!
//! RabbitMQ delivers at least once. An [`IdempotentHandler`] makes the
//! effect exactly once: in one transaction of the consumer's own database it
//! records the event id as processed — which fails softly if it already is —
//! and applies the handler's state change; then it commits. A redelivered
//! message finds its id recorded, changes nothing, and is acknowledged.
//!
//! Event ids, not versions, decide what is a duplicate: after an event was
//! dead-lettered, a later version of its stream may be applied, and replaying
//! the dead-lettered one must still apply it. The store also keeps each
//! stream's last applied version and hands it to the handler, so a handler
//! can spot a gap (an earlier event not applied) or an out-of-date replay.
//!
//! # Recorded means applied
//!
//! An event is recorded as processed only in the transaction that applied
//! it. A handler that cannot apply an event yet (version 3 arrives while the
//! stream's last applied version is 1: a dead letter moved back, an event
//! parked earlier) must not succeed without applying it — the record would
//! make every later delivery of that event a duplicate, and the event would
//! be lost for this consumer. It returns [`NotYet`](crate::NotYet)
//! ([`NotYet::check_next`](crate::NotYet::check_next) does the usual
//! check): the transaction, record included, is rolled back, and the
//! [`Consumer`](crate::Consumer) retries the event, then parks it in the
//! dead-letter queue; moved back after the event it waits for, it is
//! applied in order. Every store behaves the same, since none commits a
//! record the handler refused.
//!
//! The key of a record is the pair (consumer name, event id), kept as two
//! separate values (two columns of one primary key in SQL, a tuple in
//! memory) and never concatenated into one string, so two different pairs
//! can never collide.
//!
//! Parts: [`IdempotentHandler`] (the handler wrapper), the in-memory store,
//! and the SQLite and PostgreSQL stores (features `sqlite`, `postgres`) that
//! share their steps in `sql`.

pub(crate) mod idempotent_handler;
pub(crate) mod in_memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use es_core::{async_trait, BoxError, RecordedEvent};

/// What recording an event found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time: the event is now recorded in the transaction. Carries the
    /// highest version of the stream applied before (`None`: none).
    New {
        /// The stream's highest version applied by this consumer before.
        previous_version: Option<u64>,
    },
    /// The event was processed before; the transaction must not apply it.
    Duplicate,
}

/// A consumer's database that records processed events in its transactions.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The transaction the handler's state change and the record share.
    type Transaction: Send;

    /// Starts a transaction.
    async fn begin(&self) -> Result<Self::Transaction, BoxError>;

    /// Records `event` as processed by `consumer` inside `tx` (and raises
    /// the stream's last version), or reports that it already was. A
    /// `consumer` name that [`es_core::backend::check_consumer_name`] refuses (empty,
    /// over [`MAX_NAME_BYTES`](es_core::backend::limits::MAX_NAME_BYTES), NUL) is an
    /// [`InvalidInput`](es_core::InvalidInput) error in every store.
    async fn record(
        &self,
        tx: &mut Self::Transaction,
        consumer: &str,
        event: &RecordedEvent,
    ) -> Result<Recorded, BoxError>;

    /// Commits `tx`.
    async fn commit(&self, tx: Self::Transaction) -> Result<(), BoxError>;

    /// Abandons `tx` (the default drops it, which rolls back sqlx transactions).
    async fn rollback(&self, tx: Self::Transaction) -> Result<(), BoxError> {
        drop(tx);
        Ok(())
    }
}

/// A handler's state change, made inside the idempotency transaction.
#[async_trait]
pub trait TransactionalHandler<Tx: Send>: Send + Sync {
    /// Applies `event` inside `tx`. `previous_version` is the highest version
    /// of the event's stream this consumer applied before (`None`: none), so
    /// `event.version != previous_version + 1` reveals a gap or a replay.
    /// An error rolls the transaction back; the consumer retries, then
    /// dead-letters. Return [`NotYet`](crate::NotYet) for an event that must
    /// wait for an earlier one of its stream (see
    /// [`NotYet::check_next`](crate::NotYet::check_next)): it is rolled back
    /// the same way, never recorded, and parked until moved back.
    async fn apply(
        &self,
        tx: &mut Tx,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError>;
}
