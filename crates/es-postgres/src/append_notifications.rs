//! Wake-ups for subscribers: LISTEN/NOTIFY into a watch channel.
//!
//! After an append commits, the store signals its own subscribers directly
//! (a [`watch`] channel) and asks a background *notifier* task to run
//! `SELECT pg_notify(channel, id)` on a connection of its own, so that
//! subscribers in other processes wake up too. Requests coalesce: while one
//! `NOTIFY` is in flight, any number of appends cause at most one more.
//!
//! The `NOTIFY` is deliberately *not* part of the append statement. PostgreSQL
//! serialises the commits of all notifying transactions on one lock held
//! through the commit's WAL flush; with `pg_notify` inside the append, 8
//! concurrent writers ran at about 0.2x the raw insert rate (the `pg_concurrent`
//! bench) because they could no longer share group commits. The notifier's
//! own transaction commits with `synchronous_commit = off` (a notification is
//! transient anyway) and is off every append's path.
//!
//! Still, each `NOTIFY` is a transaction: sent once per append it cost about
//! as much CPU as a fifth of the appends themselves (8 writers on 2 cores,
//! where CPU is the limit). So the notifier also waits a short *interval*
//! after each `NOTIFY` before sending the next: the first append after a
//! quiet spell notifies at once, a burst shares one `NOTIFY` per interval.
//!
//! A second background task holds a `LISTEN` connection (its own
//! one-connection pool) and turns each notification from another store
//! instance into a change of the watch channel; notifications carrying this
//! store's own id are skipped, as local subscribers were already woken.
//! Both tasks start lazily when a Tokio runtime is available: the notifier at
//! the first append, the listener at the first subscription (a store that only
//! writes never listens, so it is not woken by its own notifications).
//!
//! The connection can drop (restart, failover, an idle-connection reaper): the
//! task reconnects with a capped backoff and signals once after reconnecting,
//! because notifications sent while it was away are lost. Subscriptions still
//! poll slowly as a safety net, so a lost wake-up costs latency, never events.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::session_limits;
use tokio::{sync::watch, task::JoinHandle};

/// The first pause before reconnecting the listener; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The watch channel of one store and its listener task.
pub(crate) struct AppendNotifications {
    sender: Arc<watch::Sender<()>>,
    pending: watch::Sender<()>,
    channel: String,
    origin: String,
    interval: Duration,
    pool: PgPool,
    /// The session limits' `SET` script, run on the listener's and the
    /// notifier's connections too.
    session_script: Option<Arc<str>>,
    listener: Mutex<Option<JoinHandle<()>>>,
    notifier: Mutex<Option<JoinHandle<()>>>,
}

impl AppendNotifications {
    /// A notifier for `channel`, listening through connections like `pool`'s,
    /// sending at most one `NOTIFY` per `interval`.
    pub fn new(
        pool: &PgPool,
        session_script: Option<Arc<str>>,
        channel: String,
        interval: Duration,
    ) -> Self {
        Self {
            sender: Arc::new(watch::channel(()).0),
            pending: watch::channel(()).0,
            channel,
            origin: uuid::Uuid::new_v4().simple().to_string(),
            interval,
            pool: pool.clone(),
            session_script,
            listener: Mutex::new(None),
            notifier: Mutex::new(None),
        }
    }

    /// After an append committed: wakes local subscribers now and has the
    /// notifier send a `NOTIFY` to other processes.
    pub fn signal(&self) {
        self.sender.send_replace(());
        self.start_notifier();
        self.pending.send_replace(());
    }

    fn start_notifier(&self) {
        let Ok(mut notifier) = self.notifier.lock() else {
            return;
        };
        if notifier.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let options = (*self.pool.connect_options())
            .clone()
            .options([("synchronous_commit", "off")]);
        let pool = session_limits::pool_options(self.session_script.clone())
            .max_connections(1)
            .min_connections(0)
            .connect_lazy_with(options);
        let mut pending = self.pending.subscribe();
        pending.mark_changed();
        *notifier = Some(runtime.spawn(notify(
            pool,
            self.channel.clone(),
            self.origin.clone(),
            self.interval,
            pending,
        )));
    }

    /// A receiver; starts the listener task if it is not running yet and a
    /// Tokio runtime is available (without one, only local appends signal).
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.start();
        self.sender.subscribe()
    }

    /// Starts the listener task once.
    fn start(&self) {
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
        let pool = session_limits::pool_options(self.session_script.clone())
            .max_connections(1)
            .min_connections(0)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        *listener = Some(runtime.spawn(listen(
            pool,
            self.channel.clone(),
            self.origin.clone(),
            self.sender.clone(),
        )));
    }
}

impl Drop for AppendNotifications {
    fn drop(&mut self) {
        for task in [&self.listener, &self.notifier] {
            if let Ok(mut task) = task.lock() {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
        }
    }
}

/// Listens on `channel` forever, reconnecting after failures.
async fn listen(pool: PgPool, channel: String, origin: String, sender: Arc<watch::Sender<()>>) {
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
                            Ok(Some(notification)) => {
                                if notification.payload() != origin {
                                    sender.send_replace(());
                                }
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

/// Sends one `NOTIFY` per batch of pending signals, at most one per
/// `interval`, until the store is dropped.
async fn notify(
    pool: PgPool,
    channel: String,
    origin: String,
    interval: Duration,
    mut pending: watch::Receiver<()>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut next = tokio::time::Instant::now();
    while pending.changed().await.is_ok() {
        // Signals arriving during this pause are taken by the NOTIFY below.
        tokio::time::sleep_until(next).await;
        next = tokio::time::Instant::now() + interval;
        pending.borrow_and_update();
        match sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&channel)
            .bind(&origin)
            .execute(&pool)
            .await
        {
            Ok(_) => backoff = MIN_BACKOFF,
            Err(error) => {
                tracing::warn!(%error, channel, "NOTIFY failed; other processes' subscribers rely on polling until it works again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
