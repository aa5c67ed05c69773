//! What a consumer does with each event.
//!
//! A [`Handler`] gets the decoded envelope and returns once its work is
//! committed; only then does the consumer acknowledge the message. An error
//! means "not done": the consumer retries, then dead-letters. A
//! [`NotYet`](crate::NotYet) error means "not done, because an earlier event
//! of the stream is missing": the consumer retries, then parks the event in
//! the dead-letter queue until it is moved back. For handling
//! that is safe against redelivery, wrap a [`TransactionalHandler`] in an
//! [`IdempotentHandler`](crate::IdempotentHandler).
//!
//! [`TransactionalHandler`]: crate::TransactionalHandler

use std::sync::Arc;

use es_core::{async_trait, BoxError, RecordedEvent};

/// Handles one delivered event; `Ok` means its effects are committed.
///
/// RabbitMQ delivers at least once, so a handler may see an event again
/// (after a lost ack, a relay republish, a restart). Make it idempotent,
/// for example with [`IdempotentHandler`](crate::IdempotentHandler).
#[async_trait]
pub trait Handler: Send + Sync {
    /// Handles `event`. Return only after its effects are durable; return
    /// [`NotYet`](crate::NotYet) (with nothing changed) when it cannot be
    /// applied before an earlier event of its stream.
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError>;
}

#[async_trait]
impl<H: Handler + ?Sized> Handler for Arc<H> {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        (**self).handle(event).await
    }
}

#[async_trait]
impl<H: Handler + ?Sized> Handler for Box<H> {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        (**self).handle(event).await
    }
}
