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

//!
//! Parts: [`config`] (the builder), [`checkpoint`] (where the position is
//! kept), [`routing_key`], [`session`] (one connection's publishing),
//! [`unpublishable`] (events the broker can never take), [`error`], and
//! `under_lease` (the relay as [`es_lease::LeaderWork`]: run it with
//! [`es_lease::Leader::serve`] so that only one instance publishes).

pub(crate) mod checkpoint;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod routing_key;
mod session;
mod under_lease;
pub(crate) mod unpublishable;

use std::{convert::Infallible, sync::Arc};

use es_core::{EventStore, Liveness, Position};
use es_telemetry::metrics::{self, Component};
use tokio::{sync::watch, time::Instant};

use crate::{connection, CheckpointError, RelayCheckpoint, RelayConfig, RelayError};

/// The channels a relay opens on its connection: one, to publish (see
/// [`link_limits`](crate::link_limits)).
pub(crate) const CHANNELS: u16 = 1;

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
/// let config = RelayConfig::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "booking-relay", "BOOKING_TX_EVENT")
///     .with_routing_key(RoutingKey::new(|e| match e.event_type.as_str() {
///         "BookingCreated" => "booking.create".into(),
///         _ => "booking.status_changed".into(),
///     }))
///     .build()
///     .expect("a valid configuration");
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
    liveness: Liveness,
}

impl<S: Clone, C> Clone for Relay<S, C> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            checkpoints: self.checkpoints.clone(),
            config: self.config.clone(),
            confirmed: self.confirmed.clone(),
            saved: self.saved.clone(),
            liveness: self.liveness.clone(),
        }
    }
}

/// What the relay knows across reconnects.
pub(crate) struct Progress {
    /// Everything up to here is confirmed by the broker.
    confirmed: Position,
    /// The stored checkpoint.
    saved: Position,
    /// Confirmed events not in the stored checkpoint yet.
    unsaved: usize,
    last_save: Instant,
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
            liveness: Liveness::new(),
        }
    }

    /// What the relay reports while it runs: busy while it reads the log,
    /// publishes and saves its checkpoint, progress at each page read and
    /// each confirm, idle while it waits for appends, for confirms (bounded
    /// by the confirm timeout and the heartbeat) and between reconnects (a
    /// broker that is down is every instance's problem, and the reconnect
    /// backoff handles it). es-lease's `Leader` deposes a relay stuck with
    /// work in hand (say, on a silent link to the event store).
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
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
    /// that cannot be encoded, undecodable stored data, a broker agreeing to
    /// less than the relay needs or a checkpoint store refusing its name
    /// ([`RelayError::Config`]), or another relay
    /// moving this relay's checkpoint (two relays under one name: run them
    /// under a lease with [`es_lease::Leader::serve`]). The checkpoint is saved before
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
        let mut delays = self.config.reconnect().delays();
        let start = loop {
            match self.checkpoints.load(self.config.name()).await {
                Ok(position) => break position,
                Err(error) => {
                    let error = checkpoint_error(self.config.name(), error);
                    if !error.is_transient() {
                        return Err(error);
                    }
                    tracing::warn!(relay = %self.config.name(), %error, "cannot load the relay checkpoint; retrying");
                    if let Some(delay) = delays.next() {
                        tokio::time::sleep(delay).await;
                    }
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
        let mut delays = self.config.reconnect().delays();
        loop {
            let before = progress.confirmed;
            let error = self.session(progress).await;
            self.confirmed.send_replace(progress.confirmed);
            if !error.is_transient() {
                if let Err(save_error) = self.save(progress, true).await {
                    tracing::warn!(relay = %self.config.name(), error = %save_error, "cannot save the relay checkpoint while stopping");
                }
                tracing::error!(relay = %self.config.name(), %error, "relay stopped");
                return error;
            }
            if progress.confirmed > before {
                delays = self.config.reconnect().delays();
            }
            let delay = delays.next().unwrap_or(self.config.reconnect().max());
            self.liveness.idle();
            tracing::warn!(relay = %self.config.name(), %error, ?delay, confirmed = %progress.confirmed, "relay reconnecting; republishing what was not confirmed");
            metrics::reconnected(Component::Relay, self.config.name());
            tokio::time::sleep(delay).await;
        }
    }

    /// One connection's life: returns the error that ended it.
    async fn session(&self, progress: &mut Progress) -> RelayError {
        let connection = match self.config.link().connect::<RelayError>(CHANNELS).await {
            Ok(connection) => connection,
            Err(error) => return error,
        };
        let error = match self.publish_loop(&connection, progress).await {
            Ok(never) => match never {},
            Err(error) => error,
        };
        connection::close(&connection).await;
        error
    }

    async fn save(&self, progress: &mut Progress, force: bool) -> Result<(), RelayError> {
        if progress.confirmed == progress.saved {
            return Ok(());
        }
        let due = progress.unsaved >= self.config.checkpoint_every()
            || progress.last_save.elapsed() >= self.config.checkpoint_interval();
        if !force && !due {
            return Ok(());
        }
        self.checkpoints
            .save(self.config.name(), progress.saved, progress.confirmed)
            .await
            .map_err(|e| checkpoint_error(self.config.name(), e))?;
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
        CheckpointError::InvalidName(invalid) => RelayError::Config(invalid.into()),
        CheckpointError::Backend(source) => RelayError::Checkpoint(source),
    }
}
