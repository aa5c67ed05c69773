//! The relay: the event store's global log, published to RabbitMQ.
//!
//! The event store is the outbox. The relay follows the global log like any
//! other tracked subscriber and publishes each event with publisher confirms,
//! `mandatory`, persistent delivery and the event id as `message_id`. Up to
//! [`RelayConfig::max_in_flight`] publishes wait for their confirm at once (a
//! window, not one round trip per message). Its checkpoint moves only to a
//! position whose event — and every event before it — the broker confirmed,
//! so a crash or a lost connection means duplicates (the consumer dedupes by
//! event id), never a loss: after a reconnect, everything after the last
//! confirmed event is published again.

use std::{collections::VecDeque, convert::Infallible, sync::Arc};

use es_core::{EventStore, Position, RecordedEvent, StoreError, Subscription};
use futures::FutureExt;
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::{FieldTable, ShortString},
    Channel, Confirmation, ExchangeKind, PublisherConfirm,
};
use tokio::{sync::watch, time::Instant};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    checkpoint::{CheckpointError, RelayCheckpoint},
    connection, wire, RelayConfig, RelayError,
};

/// Publishes a store's global log to RabbitMQ without losing events.
///
/// ```no_run
/// # async fn demo() -> Result<(), es_amqp::RelayError> {
/// use es_amqp::{Relay, RelayConfig, RoutingKey};
/// use es_core::{InMemoryProjectionStore, InMemoryStore};
///
/// let store = InMemoryStore::new();
/// // Any es_core::CheckpointStore keeps the relay's checkpoint.
/// let checkpoints = InMemoryProjectionStore::<()>::new();
/// let config = RelayConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "booking-relay", "BOOKING_TX_EVENT")
///     .with_routing_key(RoutingKey::new(|e| match e.event_type.as_str() {
///         "BookingCreated" => "booking.create".into(),
///         _ => "booking.status_changed".into(),
///     }));
/// let relay = Relay::new(store, checkpoints, config);
/// // Runs until a non-transient error (e.g. an unroutable event).
/// if let Err(error) = relay.run().await {
///     eprintln!("relay stopped: {error}");
/// }
/// # Ok(()) }
/// ```
pub struct Relay<S, C> {
    store: S,
    checkpoints: Arc<C>,
    config: RelayConfig,
    confirmed: Arc<watch::Sender<Position>>,
    saved: Arc<watch::Sender<Position>>,
}

impl<S: Clone, C> Clone for Relay<S, C> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            checkpoints: self.checkpoints.clone(),
            config: self.config.clone(),
            confirmed: self.confirmed.clone(),
            saved: self.saved.clone(),
        }
    }
}

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
}

/// What the relay knows across reconnects.
struct Progress {
    /// Everything up to here is confirmed by the broker.
    confirmed: Position,
    /// The stored checkpoint.
    saved: Position,
    unsaved: usize,
    last_save: Instant,
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
    /// A relay of `store`'s global log, keeping its checkpoint in `checkpoints`.
    pub fn new(store: S, checkpoints: C, config: RelayConfig) -> Self {
        Self {
            store,
            checkpoints: Arc::new(checkpoints),
            config,
            confirmed: Arc::new(watch::channel(Position::START).0),
            saved: Arc::new(watch::channel(Position::START).0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// The position up to which the broker confirmed every event (as seen by
    /// this relay since it started).
    pub fn confirmed(&self) -> watch::Receiver<Position> {
        self.confirmed.subscribe()
    }

    /// The last saved checkpoint.
    pub fn saved(&self) -> watch::Receiver<Position> {
        self.saved.subscribe()
    }

    /// Waits until the broker confirmed everything up to `position`.
    pub async fn wait_for_confirmed(&self, position: Position) {
        let mut confirmed = self.confirmed.subscribe();
        // The sender lives in `self`, so it cannot be dropped while we wait.
        let _ = confirmed.wait_for(|p| *p >= position).await;
    }

    /// Publishes the log from the saved checkpoint on, forever.
    ///
    /// Connection losses, broker nacks, confirm timeouts and store backend
    /// failures are logged and retried with backoff (republishing everything
    /// not confirmed). Returns only on an error that retrying cannot fix: an
    /// unroutable event ([`RelayError::Unroutable`]), a routing key or event
    /// that cannot be encoded, undecodable stored data, or another relay
    /// moving this relay's checkpoint. The checkpoint is saved before
    /// returning, and never passes the failed event.
    ///
    /// Aborting the task running this is safe: events confirmed but not yet
    /// in the saved checkpoint are published again on the next start (the
    /// consumer dedupes them). [`run_until`](Self::run_until) saves first.
    pub async fn run(&self) -> Result<Infallible, RelayError> {
        let mut progress = self.start().await?;
        Err(self.supervise(&mut progress).await)
    }

    /// Like [`run`](Self::run), but when `shutdown` completes, stops
    /// publishing, saves the checkpoint of everything confirmed so far and
    /// returns `Ok`.
    pub async fn run_until(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), RelayError> {
        let mut progress = self.start().await?;
        let stopped = tokio::select! {
            error = self.supervise(&mut progress) => Some(error),
            () = shutdown => None,
        };
        match stopped {
            Some(error) => Err(error),
            None => {
                self.confirmed.send_replace(progress.confirmed);
                self.save(&mut progress, true).await
            }
        }
    }

    /// Loads the checkpoint (retrying transient failures).
    async fn start(&self) -> Result<Progress, RelayError> {
        let mut failures = 0u32;
        let start = loop {
            match self.checkpoints.load(&self.config.name).await {
                Ok(position) => break position,
                Err(error) => {
                    let error = checkpoint_error(&self.config.name, error);
                    if !error.is_transient() {
                        return Err(error);
                    }
                    tracing::warn!(relay = %self.config.name, %error, "cannot load the relay checkpoint; retrying");
                    tokio::time::sleep(self.config.reconnect.delay(failures)).await;
                    failures = failures.saturating_add(1);
                }
            }
        };
        self.saved.send_replace(start);
        self.confirmed.send_replace(start);
        Ok(Progress {
            confirmed: start,
            saved: start,
            unsaved: 0,
            last_save: Instant::now(),
        })
    }

    /// Sessions, reconnecting after transient errors; returns a fatal one.
    async fn supervise(&self, progress: &mut Progress) -> RelayError {
        let mut failures = 0u32;
        loop {
            let before = progress.confirmed;
            let error = self.session(progress).await;
            self.confirmed.send_replace(progress.confirmed);
            if !error.is_transient() {
                if let Err(save_error) = self.save(progress, true).await {
                    tracing::warn!(relay = %self.config.name, error = %save_error, "cannot save the relay checkpoint while stopping");
                }
                tracing::error!(relay = %self.config.name, %error, "relay stopped");
                return error;
            }
            if progress.confirmed > before {
                failures = 0;
            }
            let delay = self.config.reconnect.delay(failures);
            tracing::warn!(relay = %self.config.name, %error, ?delay, confirmed = %progress.confirmed, "relay reconnecting; republishing what was not confirmed");
            tokio::time::sleep(delay).await;
            failures = failures.saturating_add(1);
        }
    }

    /// One connection's life: returns the error that ended it.
    async fn session(&self, progress: &mut Progress) -> RelayError {
        let connection = match connection::connect(&self.config.amqp_url, &self.config.name).await {
            Ok(connection) => connection,
            Err(error) => return error.into(),
        };
        let error = match self.publish_loop(&connection, progress).await {
            Ok(never) => match never {},
            Err(error) => error,
        };
        connection::close(&connection).await;
        error
    }

    async fn publish_loop(
        &self,
        connection: &lapin::Connection,
        progress: &mut Progress,
    ) -> Result<Infallible, RelayError> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let exchange = ShortString::try_new(self.config.exchange.as_str()).map_err(|e| {
            RelayError::Config(format!("exchange name {:?}: {e}", self.config.exchange))
        })?;
        if self.config.declare_exchange {
            channel
                .exchange_declare(
                    exchange.clone(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
        }
        let max_in_flight = self.config.max_in_flight.max(1);
        let mut subscription = Subscription::new(self.store.clone(), progress.confirmed)
            .with_page_size(self.config.page_size)
            .with_poll_interval(self.config.poll_interval);
        let mut pending: VecDeque<RecordedEvent> = VecDeque::new();
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(max_in_flight);
        // The last confirmed publishes (one window's worth): see `on_confirmation`.
        let mut recent: VecDeque<Sent> = VecDeque::with_capacity(max_in_flight);
        let mut last_published = progress.confirmed;
        let mut caught_up = false;
        loop {
            while in_flight.len() < max_in_flight {
                let Some(event) = pending.pop_front() else {
                    break;
                };
                let before = std::mem::replace(&mut last_published, event.position);
                in_flight.push_back(self.publish(&channel, &exchange, event, before).await?);
            }
            if pending.is_empty() && in_flight.len() < max_in_flight && !caught_up {
                let batch = subscription.next_batch().await?;
                caught_up = batch.is_empty();
                pending.extend(batch);
                continue;
            }
            let waiting_for_appends =
                pending.is_empty() && caught_up && in_flight.len() < max_in_flight;
            let step = match in_flight.front_mut() {
                None => {
                    // Idle: everything read is confirmed.
                    self.save(progress, true).await?;
                    subscription.wait().await;
                    Step::Woken
                }
                Some(front) => {
                    let deadline = front.sent_at + self.config.confirm_timeout;
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
                }
            }
        }
    }

    async fn publish(
        &self,
        channel: &Channel,
        exchange: &ShortString,
        event: RecordedEvent,
        before: Position,
    ) -> Result<InFlight, RelayError> {
        let key = self.config.routing_key.key_for(&event);
        let routing_key =
            ShortString::try_new(key.as_str()).map_err(|e| RelayError::InvalidRoutingKey {
                event_id: event.event_id,
                reason: e.to_string(),
            })?;
        let (body, properties) = wire::encode(&event).map_err(|source| RelayError::Encode {
            event_id: event.event_id,
            source,
        })?;
        let span = tracing::debug_span!(
            "es_amqp.relay.publish",
            event_id = %event.event_id,
            correlation_id = %display_option(event.metadata.correlation_id),
            causation_id = %display_option(event.metadata.causation_id),
            stream_id = %event.stream_id,
            version = event.version,
            position = %event.position,
            routing_key = %key,
        );
        let confirm = channel
            .basic_publish(
                exchange.clone(),
                routing_key,
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                &body,
                properties,
            )
            .instrument(span)
            .await?;
        Ok(InFlight {
            sent: Sent {
                position: event.position,
                before,
                event_id: event.event_id,
                routing_key: key,
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
                progress.confirmed = done.position;
                progress.unsaved += 1;
                if recent.len() >= self.config.max_in_flight.max(1) {
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
                if unroutable.before < progress.confirmed {
                    progress.confirmed = unroutable.before;
                }
                Err(RelayError::Unroutable {
                    event_id: unroutable.event_id,
                    position: unroutable.position,
                    exchange: self.config.exchange.clone(),
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

    async fn save(&self, progress: &mut Progress, force: bool) -> Result<(), RelayError> {
        if progress.confirmed == progress.saved {
            return Ok(());
        }
        let due = progress.unsaved >= self.config.checkpoint_every
            || progress.last_save.elapsed() >= self.config.checkpoint_interval;
        if !force && !due {
            return Ok(());
        }
        self.checkpoints
            .save(&self.config.name, progress.saved, progress.confirmed)
            .await
            .map_err(|e| checkpoint_error(&self.config.name, e))?;
        progress.saved = progress.confirmed;
        progress.unsaved = 0;
        progress.last_save = Instant::now();
        self.saved.send_replace(progress.saved);
        Ok(())
    }
}

fn checkpoint_error(relay: &str, error: CheckpointError) -> RelayError {
    match error {
        CheckpointError::Moved { expected, actual } => RelayError::CheckpointMoved {
            relay: relay.to_owned(),
            expected,
            actual,
        },
        CheckpointError::Backend(source) => RelayError::Checkpoint(source),
    }
}

fn display_option(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Store errors a relay can wait out.
pub(crate) fn store_error_is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Backend(_))
}
