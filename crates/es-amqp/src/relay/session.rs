//! One connection's worth of publishing: read the log, publish within the
//! confirm window, move the confirmed position as confirms come in.
//!
//! Every message is checked against the connection's limits before it is
//! published (see [`unpublishable`](super::unpublishable)); an event that
//! can never fit is parked or stops the relay once everything before it is
//! confirmed, so the checkpoint ends right before it.

use std::{collections::VecDeque, convert::Infallible};

use es_core::{EventStore, Position, RecordedEvent, Subscription};
use es_telemetry::metrics;
use futures::FutureExt;
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::ShortString,
    Channel, Confirmation, ExchangeKind, PublisherConfirm,
};
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use super::{
    unpublishable::{self, Limits},
    Progress, Relay,
};
use crate::{
    config_error::short, exchange::declare_durable, RelayCheckpoint, RelayError,
    UnpublishablePolicy,
};

/// One publish awaiting its confirm.
struct InFlight {
    sent: Sent,
    sent_at: Instant,
    confirm: PublisherConfirm,
}

/// What the relay remembers of a published event.
#[derive(Clone)]
struct Sent {
    position: Position,
    /// The position of the event published before it: how far the relay has
    /// confirmed if this one is not delivered.
    before: Position,
    event_id: Uuid,
    routing_key: String,
    /// Sent to the parking exchange rather than the event exchange.
    parked: bool,
}

/// Where messages go on this connection.
struct Targets {
    exchange: ShortString,
    parking: Option<ShortString>,
    limits: Limits,
}

// Lives on the stack for one loop turn; boxing the confirmation would cost
// an allocation per message.
#[allow(clippy::large_enum_variant)]
enum Step {
    Confirmed(Result<Confirmation, lapin::Error>),
    Woken,
}

impl<S, C> Relay<S, C>
where
    S: EventStore + Clone + 'static,
    C: RelayCheckpoint,
{
    /// Publishes on `connection` until an error ends the session.
    pub(super) async fn publish_loop(
        &self,
        connection: &lapin::Connection,
        progress: &mut Progress,
    ) -> Result<Infallible, RelayError> {
        let targets = self.targets(connection)?;
        let channel = self
            .bounded("open a channel and declare the exchanges", async {
                let channel = connection.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                if self.config.declares_exchange() {
                    declare_durable(&channel, targets.exchange.clone(), ExchangeKind::Topic)
                        .await?;
                    if let Some(parking) = &targets.parking {
                        declare_durable(&channel, parking.clone(), ExchangeKind::Fanout).await?;
                    }
                }
                Ok(channel)
            })
            .await?;
        let max_in_flight = self.config.max_in_flight();
        let mut subscription = Subscription::new(self.store.clone(), progress.confirmed)
            .with_page_size(self.config.page_size())
            .with_poll_interval(self.config.poll_interval());
        let mut pending: VecDeque<RecordedEvent> = VecDeque::new();
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(max_in_flight);
        // The last confirmed publishes (one window's worth): see `on_confirmation`.
        let mut recent: VecDeque<Sent> = VecDeque::with_capacity(max_in_flight);
        let mut last_published = progress.confirmed;
        let mut caught_up = false;
        // An event that can never be published: the relay stops once
        // everything before it is confirmed.
        let mut stop: Option<RelayError> = None;
        let liveness = &self.liveness;
        loop {
            liveness.busy();
            while in_flight.len() < max_in_flight && stop.is_none() {
                let Some(event) = pending.pop_front() else {
                    break;
                };
                match self
                    .publish(&channel, &targets, &event, last_published)
                    .await
                {
                    Ok(sent) => {
                        metrics::relay_published(self.config.name());
                        last_published = event.position;
                        in_flight.push_back(sent);
                    }
                    Err(error @ RelayError::Unpublishable { .. }) => stop = Some(error),
                    Err(error) => return Err(error),
                }
            }
            let reading = stop.is_none() && pending.is_empty();
            if reading && in_flight.len() < max_in_flight && !caught_up {
                let batch = subscription.next_batch().await?;
                liveness.progressed();
                caught_up = batch.is_empty();
                pending.extend(batch);
                continue;
            }
            let waiting_for_appends = reading && caught_up && in_flight.len() < max_in_flight;
            let step = match in_flight.front_mut() {
                None => {
                    // Idle: everything read is confirmed.
                    self.save(progress, true).await?;
                    if let Some(error) = stop {
                        return Err(error);
                    }
                    liveness.idle();
                    subscription.wait().await;
                    Step::Woken
                }
                Some(front) => {
                    // Waits on the broker have their own bounds (the confirm
                    // timeout, the heartbeat): not a stall of this leader.
                    liveness.idle();
                    let deadline = front.sent_at + self.config.confirm_timeout();
                    tokio::select! {
                        confirmation = &mut front.confirm => Step::Confirmed(confirmation),
                        // Room in the window and nothing to read: an append
                        // may come before the confirm.
                        () = subscription.wait(), if waiting_for_appends => Step::Woken,
                        () = tokio::time::sleep_until(deadline) => {
                            return Err(RelayError::ConfirmTimeout {
                                event_id: front.sent.event_id,
                                position: front.sent.position,
                            });
                        }
                    }
                }
            };
            match step {
                Step::Woken => caught_up = false,
                Step::Confirmed(confirmation) => {
                    let mut next = Some(confirmation);
                    while let Some(confirmation) = next.take() {
                        if let Some(done) = in_flight.pop_front() {
                            self.on_confirmation(
                                progress,
                                done.sent,
                                confirmation,
                                &in_flight,
                                &mut recent,
                            )?;
                        }
                        // The broker confirms in batches: take every confirm
                        // that is already in without waiting, then publish.
                        next = in_flight
                            .front_mut()
                            .and_then(|front| (&mut front.confirm).now_or_never());
                    }
                    self.confirmed.send_replace(progress.confirmed);
                    self.save(progress, false).await?;
                    liveness.progressed();
                }
            }
        }
    }

    /// Waits at most [`RelayConfig::request_timeout`] for `request`.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<T, RelayError>>,
    ) -> Result<T, RelayError> {
        self.config.link().bounded(operation, request).await
    }

    /// The exchanges and limits of this connection.
    fn targets(&self, connection: &lapin::Connection) -> Result<Targets, RelayError> {
        let parking = match self.config.unpublishable() {
            UnpublishablePolicy::Park { exchange } => Some(short("parking exchange", exchange)?),
            _ => None,
        };
        Ok(Targets {
            exchange: short("exchange", self.config.exchange())?,
            parking,
            limits: Limits {
                frame_max: usize::try_from(connection.configuration().frame_max())
                    .unwrap_or(usize::MAX),
                max_message_size: self.config.max_message_size(),
            },
        })
    }

    /// Publishes `event` (or its parked form), returning what awaits the confirm.
    async fn publish(
        &self,
        channel: &Channel,
        targets: &Targets,
        event: &RecordedEvent,
        before: Position,
    ) -> Result<InFlight, RelayError> {
        let key = self.config.routing_key().key_for(event);
        let (message, exchange, parked) = match unpublishable::message(event, key, targets.limits) {
            Ok(message) => (message, &targets.exchange, false),
            Err(reason) => {
                let parked = targets.parking.as_ref().and_then(|parking| {
                    let message = unpublishable::parked(event, &reason, targets.limits).ok()?;
                    Some((message, parking))
                });
                let Some((message, parking)) = parked else {
                    return Err(RelayError::Unpublishable {
                        event_id: event.event_id,
                        stream_id: event.stream_id.to_string(),
                        version: event.version,
                        position: event.position,
                        reason,
                    });
                };
                tracing::error!(event_id = %event.event_id, version = event.version, position = %event.position, %reason, exchange = %parking, "the event can never be published: parking it");
                (message, parking, true)
            }
        };
        let span = tracing::debug_span!(
            "es_amqp.relay.publish",
            event_id = %event.event_id,
            correlation_id = %display_option(event.metadata.correlation_id),
            causation_id = %display_option(event.metadata.causation_id),
            trace_id = event.metadata.trace_context.map(|t| t.trace_id_hex()).as_deref(),
            stream_id = %event.stream_id,
            version = event.version,
            position = %event.position,
            routing_key = %message.routing_key,
        );
        let routing_key = short("routing key", &message.routing_key)?;
        let confirm = self
            .bounded(
                "publish",
                async {
                    Ok(channel
                        .basic_publish(
                            exchange.clone(),
                            routing_key,
                            BasicPublishOptions {
                                mandatory: true,
                                immediate: false,
                            },
                            &message.body,
                            message.properties,
                        )
                        .await?)
                }
                .instrument(span),
            )
            .await?;
        Ok(InFlight {
            sent: Sent {
                position: event.position,
                before,
                event_id: event.event_id,
                routing_key: message.routing_key,
                parked,
            },
            sent_at: Instant::now(),
            confirm,
        })
    }

    /// Applies the broker's answer for `done`.
    ///
    /// A returned (unroutable) message comes with some confirm, but not
    /// necessarily its own: lapin hands it to whichever publish a (multiple)
    /// ack completes first. So the returned message's `message_id` (the
    /// event id) names the event, looked up in the window (`in_flight`,
    /// `recent`); if its own confirm already counted it as confirmed, the
    /// progress is taken back to just before it, so the checkpoint can never
    /// pass an event the broker did not route.
    fn on_confirmation(
        &self,
        progress: &mut Progress,
        done: Sent,
        confirmation: Result<Confirmation, lapin::Error>,
        in_flight: &VecDeque<InFlight>,
        recent: &mut VecDeque<Sent>,
    ) -> Result<(), RelayError> {
        match confirmation? {
            Confirmation::Ack(None) => {
                metrics::relay_confirmed(self.config.name());
                progress.confirmed = done.position;
                progress.unsaved += 1;
                if recent.len() >= self.config.max_in_flight() {
                    recent.pop_front();
                }
                recent.push_back(done);
                Ok(())
            }
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                let returned_id = returned
                    .properties
                    .message_id()
                    .as_ref()
                    .and_then(|id| Uuid::parse_str(id.as_str()).ok());
                let unroutable = returned_id
                    .filter(|id| *id != done.event_id)
                    .and_then(|id| {
                        recent
                            .iter()
                            .chain(in_flight.iter().map(|f| &f.sent))
                            .find(|sent| sent.event_id == id)
                            .cloned()
                    })
                    .unwrap_or(done);
                metrics::relay_returned(self.config.name());
                if unroutable.before < progress.confirmed {
                    progress.confirmed = unroutable.before;
                }
                let exchange = match (unroutable.parked, self.config.unpublishable()) {
                    (true, UnpublishablePolicy::Park { exchange }) => exchange,
                    _ => self.config.exchange(),
                };
                Err(RelayError::Unroutable {
                    event_id: unroutable.event_id,
                    position: unroutable.position,
                    exchange: exchange.to_owned(),
                    routing_key: unroutable.routing_key,
                    reply_code: returned.reply_code,
                    reply_text: returned.reply_text.to_string(),
                })
            }
            // `NotRequested` would mean the channel left confirm mode: treat
            // it like a nack and republish on a fresh channel.
            Confirmation::Nack(None) | Confirmation::NotRequested => Err(RelayError::Nacked {
                event_id: done.event_id,
                position: done.position,
            }),
        }
    }
}

fn display_option(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}
