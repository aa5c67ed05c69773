//! A held lease: who holds which name since when, and a signal when it ends.
//!
//! A [`Lease`] is handed out by a [`LeaseStore`](crate::LeaseStore). While it
//! lives, a background task renews it (see [`LeaseKeeper`]);
//! [`Lease::lost`] resolves when renewing fails, and [`Lease::release`] (or
//! dropping the lease) gives it up so another instance can take over at once.
//! [`LeaseInfo`] is the cheap, cloneable view a worker gets.

use std::{fmt, sync::Arc};

use chrono::{DateTime, Utc};
use tokio::{
    sync::{oneshot, watch},
    time::Instant,
};

use super::keeper::{keep, ReleaseRequest};
use crate::{LeaseError, LeaseKeeper, LeaseLost, Renewal};

/// What a worker may know about the lease it runs under.
#[derive(Clone)]
pub struct LeaseInfo {
    name: Arc<str>,
    holder: Arc<str>,
    acquired_at: DateTime<Utc>,
    lost: watch::Receiver<Option<LeaseLost>>,
    /// Set by a [`Leader`](crate::Leader) that asks its work to stop.
    stop: Option<watch::Receiver<bool>>,
}

impl fmt::Debug for LeaseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseInfo")
            .field("name", &self.name)
            .field("holder", &self.holder)
            .field("acquired_at", &self.acquired_at)
            .field("lost", &*self.lost.borrow())
            .finish()
    }
}

impl LeaseInfo {
    /// The lease's name (the work it guards).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who holds it.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// When it was taken.
    pub fn acquired_at(&self) -> DateTime<Utc> {
        self.acquired_at
    }

    /// Whether the lease has ended (lost or released).
    pub fn is_lost(&self) -> bool {
        self.lost.borrow().is_some()
    }

    /// Resolves when the lease ends, with the reason.
    pub async fn lost(&self) -> LeaseLost {
        let mut lost = self.lost.clone();
        let reason = match lost.wait_for(Option::is_some).await {
            Ok(reason) => (*reason).clone(),
            // The keeper always reports before it stops; a closed channel
            // still means the lease is over.
            Err(_) => None,
        };
        reason.unwrap_or(LeaseLost::Released)
    }

    /// Resolves when the work under this lease should stop: the lease is
    /// lost, or the [`Leader`](crate::Leader) running the work is shutting
    /// down. Pass it as the shutdown signal of work that can stop cleanly
    /// (for example a relay's `run_until`); the leader gives the work its
    /// [stop grace](crate::LeaderConfig::with_stop_grace) to return.
    pub async fn stopping(&self) {
        let Some(stop) = &self.stop else {
            self.lost().await;
            return;
        };
        let mut stop = stop.clone();
        tokio::select! {
            _ = self.lost() => {}
            _ = stop.wait_for(|stop| *stop) => {}
        }
    }

    /// This view, with `stop` as an extra stop request.
    pub(crate) fn with_stop(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }
}

/// A lease held by this process. Renewed in the background until released,
/// dropped or lost.
pub struct Lease {
    info: LeaseInfo,
    release: Option<oneshot::Sender<ReleaseRequest>>,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lease").field(&self.info).finish()
    }
}

impl Lease {
    /// Starts keeping a lease that a store has just granted: a background
    /// task renews it with `keeper` as `renewal` says. `acquired` is when the
    /// store started granting it (before the statement that took it), from
    /// which the first renewal and any time to live count.
    ///
    /// Call it from inside a Tokio runtime (it spawns a task).
    pub fn keep(
        name: &str,
        holder: &str,
        acquired: Instant,
        keeper: impl LeaseKeeper,
        renewal: Renewal,
    ) -> Lease {
        let (lost_tx, lost_rx) = watch::channel(None);
        let (release_tx, release_rx) = oneshot::channel();
        tokio::spawn(keep(
            Box::new(keeper),
            renewal,
            acquired,
            lost_tx,
            release_rx,
        ));
        Lease {
            info: LeaseInfo {
                name: name.into(),
                holder: holder.into(),
                acquired_at: Utc::now(),
                lost: lost_rx,
                stop: None,
            },
            release: Some(release_tx),
        }
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        self.info.name()
    }

    /// Who holds it.
    pub fn holder(&self) -> &str {
        self.info.holder()
    }

    /// When it was taken.
    pub fn acquired_at(&self) -> DateTime<Utc> {
        self.info.acquired_at()
    }

    /// A cloneable view for the worker that runs under this lease.
    pub fn info(&self) -> LeaseInfo {
        self.info.clone()
    }

    /// Resolves when the lease is lost (renewal failed or timed out, the
    /// connection dropped, another holder took it over).
    pub async fn lost(&self) -> LeaseLost {
        self.info.lost().await
    }

    /// Gives the lease up now, so a standby can take it at once. Fails with
    /// [`LeaseError::Lost`] if it had already been lost.
    pub async fn release(mut self) -> Result<(), LeaseError> {
        let Some(release) = self.release.take() else {
            return Ok(());
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        if release.send(reply_tx).is_err() {
            // The keeper has stopped: the lease was lost before.
            return Err(self.lost_error());
        }
        match reply_rx.await {
            Ok(outcome) => outcome,
            // The keeper was busy losing the lease and stopped.
            Err(_) => Err(self.lost_error()),
        }
    }

    fn lost_error(&self) -> LeaseError {
        LeaseError::Lost {
            name: self.name().to_owned(),
            reason: self
                .info
                .lost
                .borrow()
                .clone()
                .unwrap_or(LeaseLost::Released),
        }
    }
}
