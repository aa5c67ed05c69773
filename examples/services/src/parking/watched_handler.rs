//! A consumer's handler that reports its progress, so `/health` and `/ready`
//! tell when Parking cannot apply what it receives.
//!
//! Parking's processes share one SQLite file, and so its one write lock: a
//! process frozen inside a write (`kill -STOP`) holds it until it dies, and
//! the others' handlers wait and fail (`database is locked`) meanwhile. No
//! timeout can take the lock back; what Parking can do is say so: this
//! wrapper marks the handler busy while it handles an event, and made
//! progress when an event was applied. A failure leaves it busy, so a
//! handler failing again and again counts as stuck from the first attempt.

use es_amqp::Handler;
use es_core::{async_trait, BoxError, Liveness, RecordedEvent};

/// `inner`, reporting to a [`Liveness`].
pub struct WatchedHandler<H> {
    inner: H,
    liveness: Liveness,
}

impl<H> WatchedHandler<H> {
    /// Wraps `inner`.
    pub fn new(inner: H) -> Self {
        Self {
            inner,
            liveness: Liveness::new(),
        }
    }

    /// What the handler reports.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }
}

#[async_trait]
impl<H: Handler> Handler for WatchedHandler<H> {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.liveness.busy();
        let handled = self.inner.handle(event).await;
        if handled.is_ok() {
            self.liveness.progressed();
            self.liveness.idle();
        }
        handled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fails(bool);

    #[async_trait]
    impl Handler for Fails {
        async fn handle(&self, _: &RecordedEvent) -> Result<(), BoxError> {
            if self.0 {
                Err("database is locked".into())
            } else {
                Ok(())
            }
        }
    }

    fn event() -> RecordedEvent {
        serde_json::from_value(serde_json::json!({
            "event_id": uuid::Uuid::now_v7(),
            "stream_id": "booking-1",
            "version": 1,
            "position": { "commit": 1, "sequence": 1 },
            "event_type": "BookingCreated",
            "schema_version": 1,
            "payload": {},
            "metadata": {},
            "recorded_at": "2026-12-07T00:00:00Z",
        }))
        .expect("an event")
    }

    #[tokio::test]
    async fn a_failure_leaves_the_handler_busy_and_a_success_idle() {
        let failing = WatchedHandler::new(Fails(true));
        assert!(failing.handle(&event()).await.is_err());
        assert!(
            failing.liveness().stalled_for().is_some(),
            "busy after a failure"
        );
        let working = WatchedHandler::new(Fails(false));
        working.handle(&event()).await.expect("handled");
        assert_eq!(
            working.liveness().stalled_for(),
            None,
            "idle after a success"
        );
    }
}
