//! Keeping a lease alive: the one renewal loop every lease store shares.
//!
//! A store proves it still holds a lease in its own way (a heartbeat on the
//! connection that holds a PostgreSQL advisory lock, a row update in SQLite).
//! It says how in a [`LeaseKeeper`], and [`Lease::keep`](crate::Lease::keep)
//! runs the loop: renew every [`Renewal::every`], give each renewal at most
//! [`Renewal::timeout`], declare the lease lost on the first failure (or,
//! with [`Renewal::valid_for`], once no renewal succeeded for that long),
//! and release it when the [`Lease`](crate::Lease) is released or dropped.

use std::time::Duration;

use async_trait::async_trait;
use tokio::{
    sync::{oneshot, watch},
    time::{sleep_until, timeout, Instant},
};

use crate::{LeaseError, LeaseLost};

/// How a lease store renews and releases one lease it granted.
#[async_trait]
pub trait LeaseKeeper: Send + 'static {
    /// Proves the lease is still held; an error means it is not (or may not
    /// be) any more.
    async fn renew(&mut self) -> Result<(), LeaseLost>;

    /// Gives the lease up so that another holder can take it at once.
    async fn release(self: Box<Self>) -> Result<(), LeaseError>;
}

/// When a [`LeaseKeeper`] renews, and when the lease counts as lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renewal {
    /// The pause between the start of two renewals.
    pub every: Duration,
    /// The longest one renewal (or the release) may take.
    pub timeout: Duration,
    /// With `Some(ttl)`, a failed renewal is retried and the lease is lost
    /// only when no renewal succeeded for `ttl` (counted from the start of
    /// the last successful one, so the holder stops before the store lets
    /// anyone else in). With `None`, the first failure loses the lease.
    pub valid_for: Option<Duration>,
}

impl Renewal {
    /// Renew every `every`, each renewal bounded by `timeout` (both at least
    /// one millisecond); the first failure loses the lease.
    pub fn new(every: Duration, timeout: Duration) -> Result<Self, LeaseError> {
        let min = Duration::from_millis(1);
        let max = Duration::from_secs(3600);
        Ok(Self {
            every: LeaseError::check_setting("renewal interval", every, min, max)?,
            timeout: LeaseError::check_setting("renewal timeout", timeout, min, max)?,
            valid_for: None,
        })
    }

    /// Renewals for a lease with a time to live `ttl`: renew every `ttl / 3`,
    /// each bounded by `ttl / 3`, lost when none succeeded for `ttl`.
    pub fn for_ttl(ttl: Duration) -> Result<Self, LeaseError> {
        let ttl = LeaseError::check_setting(
            "lease time to live",
            ttl,
            Duration::from_millis(3),
            Duration::from_secs(3600),
        )?;
        let mut renewal = Self::new(ttl / 3, ttl / 3)?;
        renewal.valid_for = Some(ttl);
        Ok(renewal)
    }
}

/// A request to release, answered with the outcome.
pub(crate) type ReleaseRequest = oneshot::Sender<Result<(), LeaseError>>;

/// Runs until the lease is released, dropped or lost: see the module docs.
pub(crate) async fn keep(
    mut keeper: Box<dyn LeaseKeeper>,
    renewal: Renewal,
    acquired: Instant,
    lost: watch::Sender<Option<LeaseLost>>,
    mut release: oneshot::Receiver<ReleaseRequest>,
) {
    let mut last_ok = acquired;
    let mut next = acquired + renewal.every;
    loop {
        tokio::select! {
            biased;
            request = &mut release => {
                let outcome = bounded_release(keeper, renewal.timeout).await;
                lost.send_replace(Some(LeaseLost::Released));
                if let Ok(reply) = request {
                    // The releaser may have stopped waiting; nothing to do then.
                    let _ = reply.send(outcome);
                }
                return;
            }
            () = sleep_until(next) => {}
        }
        let started = Instant::now();
        let outcome = match renewal.valid_for {
            None => renew_within(&mut keeper, renewal.timeout).await,
            Some(ttl) => {
                let left = (last_ok + ttl).saturating_duration_since(started);
                if left.is_zero() {
                    Err(LeaseLost::Expired(ttl))
                } else {
                    renew_within(&mut keeper, renewal.timeout.min(left)).await
                }
            }
        };
        match outcome {
            Ok(()) => {
                last_ok = started;
                next = started + renewal.every;
            }
            Err(reason) => {
                let gone = match (renewal.valid_for, &reason) {
                    (Some(ttl), LeaseLost::RenewalFailed(_) | LeaseLost::RenewalTimedOut(_)) => {
                        Instant::now() >= last_ok + ttl
                    }
                    _ => true,
                };
                if gone {
                    tracing::warn!(%reason, "lease lost");
                    lost.send_replace(Some(reason));
                    if let Err(error) = bounded_release(keeper, renewal.timeout).await {
                        tracing::debug!(%error, "releasing a lost lease failed");
                    }
                    return;
                }
                tracing::debug!(%reason, "lease renewal failed; retrying while the lease lasts");
                let deadline = renewal.valid_for.map_or(next, |ttl| last_ok + ttl);
                next = (started + renewal.every).min(deadline);
            }
        }
    }
}

async fn renew_within(keeper: &mut Box<dyn LeaseKeeper>, limit: Duration) -> Result<(), LeaseLost> {
    match timeout(limit, keeper.renew()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(LeaseLost::RenewalTimedOut(limit)),
    }
}

async fn bounded_release(keeper: Box<dyn LeaseKeeper>, limit: Duration) -> Result<(), LeaseError> {
    match timeout(limit, keeper.release()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(LeaseError::backend(format!(
            "releasing the lease did not answer within {limit:?}"
        ))),
    }
}
