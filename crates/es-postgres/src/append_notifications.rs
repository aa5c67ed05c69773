//! Wake-ups for subscribers: LISTEN/NOTIFY into a watch channel.
//!
//! Every append statement ends with `pg_notify(channel, '')`, which PostgreSQL
//! delivers when (and only if) the append commits, to every listener in the
//! database: other processes' subscribers wake up too. One background task per
//! store (started lazily, on the first subscriber) holds a `LISTEN` connection
//! from its own one-connection pool and turns each notification into a change
//! of a [`watch`] channel. Appends made through this store also signal the
//! channel directly, without waiting for the round trip.
//!
//! The connection can drop (restart, failover, an idle-connection reaper): the
//! task reconnects with a capped backoff and signals once after reconnecting,
//! because notifications sent while it was away are lost. Subscriptions still
//! poll slowly as a safety net, so a lost wake-up costs latency, never events.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::{sync::watch, task::JoinHandle};

/// The first pause before reconnecting the listener; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The watch channel of one store and its listener task.
pub(crate) struct AppendNotifications {
    sender: Arc<watch::Sender<()>>,
    channel: String,
    pool: PgPool,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl AppendNotifications {
    /// A notifier for `channel`, listening through connections like `pool`'s.
    pub fn new(pool: &PgPool, channel: String) -> Self {
        Self {
            sender: Arc::new(watch::channel(()).0),
            channel,
            pool: pool.clone(),
            listener: Mutex::new(None),
        }
    }

    /// Signals local subscribers (after an append of this process committed).
    pub fn signal(&self) {
        self.sender.send_replace(());
    }

    /// A receiver; starts the listener task if it is not running yet and a
    /// Tokio runtime is available (without one, only local appends signal).
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.start();
        self.sender.subscribe()
    }

    /// Starts the listener task once.
    pub fn start(&self) {
        let Ok(mut listener) = self.listener.lock() else {
            return;
        };
        if listener.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A pool of its own, so LISTEN never takes a connection from appends.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        *listener = Some(runtime.spawn(listen(pool, self.channel.clone(), self.sender.clone())));
    }
}

impl Drop for AppendNotifications {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock() {
            if let Some(task) = listener.take() {
                task.abort();
            }
        }
    }
}

/// Listens on `channel` forever, reconnecting after failures.
async fn listen(pool: PgPool, channel: String, sender: Arc<watch::Sender<()>>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(&channel).await {
                Ok(()) => {
                    backoff = MIN_BACKOFF;
                    // Anything sent while we were not listening is lost: wake
                    // subscribers so they read once.
                    sender.send_replace(());
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => {
                                sender.send_replace(());
                            }
                            // The connection dropped and was re-established
                            // (LISTEN included); wake up in case we missed one.
                            Ok(None) => {
                                sender.send_replace(());
                            }
                            Err(error) => {
                                tracing::warn!(%error, channel, "LISTEN connection failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, channel, "LISTEN failed; retrying");
                }
            },
            Err(error) => {
                tracing::warn!(%error, channel, "cannot connect the LISTEN connection; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
