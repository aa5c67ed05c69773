//! One delivery's way through the consumer: decode it, hand it to the
//! handler (retrying in place, so nothing behind it in its stream overtakes
//! it), park it when the handler says it cannot be applied yet
//! ([`NotYet`]) or dead-letter it when it keeps failing, then acknowledge
//! it and count the outcome.

use std::sync::atomic::Ordering;

use es_core::RecordedEvent;
use es_telemetry::metrics;
use lapin::{message::Delivery, options::BasicAckOptions};
use tracing::Instrument;

use super::{dead_letter::DeadLetters, Consumer};
use crate::{wire, ConsumerError, Handler, NotYet};

enum Outcome {
    Handled,
    DeadLettered,
    /// Dead-lettered because the handler could not apply it yet.
    Parked,
}

impl<H: Handler> Consumer<H> {
    /// Handles one delivery start to finish (see the module docs).
    pub(super) async fn process(
        &self,
        dead_letters: &DeadLetters,
        delivery: Delivery,
    ) -> Result<(), ConsumerError> {
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "es_amqp.consume",
            queue = %self.config.queue(),
            event_id = %message_id,
            correlation_id = %wire::correlation_id(&delivery.properties).unwrap_or_default(),
            routing_key = %delivery.routing_key,
            redelivered = delivery.redelivered,
            stream_id = tracing::field::Empty,
            version = tracing::field::Empty,
            position = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            parent_id = tracing::field::Empty,
        );
        let recorded = span.clone();
        let outcome = async {
            match wire::decode(&delivery.properties, &delivery.data) {
                Err(error) => {
                    tracing::warn!(%error, "undecodable message: dead-lettering it");
                    let failure = format!(
                        "undecodable message (message_id {message_id:?}, routing key {:?}): {error}",
                        delivery.routing_key.as_str()
                    );
                    self.bounded(
                        "dead-letter a message",
                        self.dead_letter(dead_letters, &delivery, &failure, 0),
                    )
                    .await?;
                    Ok::<_, ConsumerError>(Outcome::DeadLettered)
                }
                Ok(event) => {
                    record_event(&recorded, &event);
                    self.handle(dead_letters, &delivery, &event).await
                }
            }
        }
        .instrument(span)
        .await?;
        self.bounded("acknowledge a message", async {
            Ok(delivery.acker.ack(BasicAckOptions::default()).await?)
        })
        .await?;
        match outcome {
            Outcome::Handled => {
                metrics::consumer_handled(self.config.queue());
                self.stats.handled.fetch_add(1, Ordering::Relaxed)
            }
            Outcome::DeadLettered => {
                metrics::consumer_dead_lettered(self.config.queue());
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed)
            }
            Outcome::Parked => {
                metrics::consumer_dead_lettered(self.config.queue());
                self.stats.parked.fetch_add(1, Ordering::Relaxed);
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed)
            }
        };
        Ok(())
    }

    async fn handle(
        &self,
        dead_letters: &DeadLetters,
        delivery: &Delivery,
        event: &RecordedEvent,
    ) -> Result<Outcome, ConsumerError> {
        let mut attempt = 1u32;
        let mut delays = self.config.retry().delays();
        loop {
            let error = match self.handler.handle(event).await {
                Ok(()) => return Ok(Outcome::Handled),
                Err(error) => error,
            };
            let not_yet = NotYet::find(&*error);
            match not_yet {
                Some(not_yet) if attempt >= self.config.max_attempts() => {
                    tracing::warn!(%not_yet, attempt, stream_id = %event.stream_id, version = event.version, "the event still cannot be applied: parking it in the dead-letter queue, to be moved back once what it waits for was applied");
                    let failure = format!(
                        "{not_yet}; parked after {attempt} attempts: move it back \
                         (es dead-letters redrive) once that version was applied"
                    );
                    self.bounded(
                        "dead-letter a message",
                        self.dead_letter(dead_letters, delivery, &failure, attempt),
                    )
                    .await?;
                    return Ok(Outcome::Parked);
                }
                None if attempt >= self.config.max_attempts() => {
                    tracing::error!(%error, attempt, stream_id = %event.stream_id, version = event.version, "handler keeps failing: dead-lettering the event");
                    self.bounded(
                        "dead-letter a message",
                        self.dead_letter(dead_letters, delivery, &error.to_string(), attempt),
                    )
                    .await?;
                    return Ok(Outcome::DeadLettered);
                }
                _ => {
                    let delay = delays.next().unwrap_or(self.config.retry().max());
                    if let Some(not_yet) = not_yet {
                        tracing::info!(%not_yet, attempt, ?delay, stream_id = %event.stream_id, version = event.version, "the event cannot be applied yet; retrying in place");
                    } else {
                        tracing::warn!(%error, attempt, ?delay, stream_id = %event.stream_id, version = event.version, "handler failed; retrying in place");
                    }
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    metrics::consumer_retried(self.config.queue());
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Fills the `es_amqp.consume` span's fields from the decoded event: where
/// it sits in its stream and the global log, and the trace it belongs to
/// (the `traceparent` the relay copied from its metadata), so the consumer's
/// span joins the trace of the command that wrote the event.
fn record_event(span: &tracing::Span, event: &RecordedEvent) {
    span.record("stream_id", tracing::field::display(&event.stream_id));
    span.record("version", event.version);
    span.record("position", tracing::field::display(event.position));
    if let Some(context) = event.metadata.trace_context {
        span.record("trace_id", context.trace_id_hex());
        span.record("parent_id", context.parent_id_hex());
    }
}
