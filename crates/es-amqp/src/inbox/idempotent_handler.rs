//! The [`Handler`] that applies each delivered event at most once per
//! consumer name, by recording it in the consumer's own database in the same
//! transaction as the state change.

use es_core::{async_trait, BoxError, RecordedEvent};

use crate::{Handler, IdempotencyStore, Recorded, TransactionalHandler};

/// A [`Handler`] that applies each event at most once per consumer name.
///
/// It records an event as processed only together with the handler's
/// change: when the [`TransactionalHandler`] fails, or refuses the event
/// because it cannot apply it yet ([`NotYet`](crate::NotYet)), nothing is
/// recorded and the error goes to the consumer.
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
    /// sharing a database must use different names). The name must pass
    /// [`es_core::backend::check_consumer_name`]; otherwise every event fails with
    /// that [`InvalidInput`](es_core::InvalidInput) (check it up front).
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
            // The record goes with the change: a failed or refused
            // ([`NotYet`](crate::NotYet)) event stays unrecorded, so its next
            // delivery is applied rather than dropped as a duplicate.
            let _ = self.store.rollback(tx).await;
            return Err(error);
        }
        self.store.commit(tx).await
    }
}
