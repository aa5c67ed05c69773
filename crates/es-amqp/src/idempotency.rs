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

use es_core::{async_trait, BoxError, RecordedEvent};

use crate::Handler;

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
    /// the stream's last version), or reports that it already was.
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
    /// dead-letters.
    async fn apply(
        &self,
        tx: &mut Tx,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError>;
}

/// A [`Handler`] that applies each event at most once per consumer name.
///
/// ```
/// use es_amqp::{IdempotentHandler, InMemoryIdempotencyStore, InMemoryTransaction, TransactionalHandler, Handler};
/// use es_core::{async_trait, BoxError, RecordedEvent};
/// # use es_core::{Metadata, Position, StreamId};
///
/// struct Count;
/// #[async_trait]
/// impl TransactionalHandler<InMemoryTransaction<u64>> for Count {
///     async fn apply(&self, tx: &mut InMemoryTransaction<u64>, _: &RecordedEvent, _: Option<u64>) -> Result<(), BoxError> {
///         tx.update(|count| *count += 1);
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemoryIdempotencyStore::<u64>::new();
/// let handler = IdempotentHandler::new("parking", store.clone(), Count);
/// # let event = RecordedEvent { event_id: uuid::Uuid::now_v7(), stream_id: StreamId::new("booking-1").unwrap(), version: 1,
/// #   position: Position::from_sequence(1), event_type: "BookingCreated".into(), schema_version: 1,
/// #   payload: serde_json::Value::Null, metadata: Metadata::default(), recorded_at: chrono::Utc::now() };
/// handler.handle(&event).await.unwrap();
/// handler.handle(&event).await.unwrap(); // a redelivery: recorded, not applied again
/// assert_eq!(store.state(), 1);
/// # });
/// ```
pub struct IdempotentHandler<S, H> {
    consumer: String,
    store: S,
    handler: H,
}

impl<S, H> IdempotentHandler<S, H> {
    /// Applies events through `handler`, recording them in `store` under the
    /// consumer name `consumer` (one name per logical consumer: two consumers
    /// sharing a database must use different names).
    pub fn new(consumer: impl Into<String>, store: S, handler: H) -> Self {
        Self {
            consumer: consumer.into(),
            store,
            handler,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.handler
    }
}

#[async_trait]
impl<S, H> Handler for IdempotentHandler<S, H>
where
    S: IdempotencyStore,
    H: TransactionalHandler<S::Transaction>,
{
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        let mut tx = self.store.begin().await?;
        let previous_version = match self.store.record(&mut tx, &self.consumer, event).await {
            Ok(Recorded::New { previous_version }) => previous_version,
            Ok(Recorded::Duplicate) => {
                tracing::debug!(event_id = %event.event_id, consumer = %self.consumer, "duplicate delivery: already applied");
                self.store.rollback(tx).await?;
                return Ok(());
            }
            Err(error) => {
                let _ = self.store.rollback(tx).await;
                return Err(error);
            }
        };
        if let Err(error) = self.handler.apply(&mut tx, event, previous_version).await {
            let _ = self.store.rollback(tx).await;
            return Err(error);
        }
        self.store.commit(tx).await
    }
}
