//! The leader/standby loop: run a worker on at most one instance at a time.
//!
//! Every instance runs the same [`Leader::run`]. As a standby it tries to
//! take the lease every [`LeaderConfig::retry_interval`]; once it holds the
//! lease it runs the work until the work returns, the lease is lost or the
//! shutdown signal fires. Losing the lease cancels (drops) the work and sends
//! the instance back to standby: it never ends the process. Work that fails
//! also goes back to standby, after releasing the lease so that another
//! instance may try. The current [`Role`] is published on a `watch` channel.
//!
//! A leader whose work holds work in hand without progress for the stall
//! timeout ([`LeaderConfig::with_stall_timeout`], reported through the
//! work's [`Liveness`]) deposes itself: it drops the work, releases the
//! lease, shows [`Role::Deposed`] and waits one stall timeout before it
//! competes again, so that a healthy standby takes over. This catches what
//! the lease cannot: a worker whose *work* connection went silent while its
//! lease connection stays healthy. (What the dropped work left open on the
//! server, a transaction and its locks, is ended by the server's own
//! limits: es-postgres's `SessionLimits`.)
//!
//! The lease only decides who *should* work. Two holders can still overlap
//! for a moment (a holder that stalls past its lease's end notices only at
//! its next renewal), so work that writes must keep its own fencing: for
//! projections and the relay, the checkpoint compare-and-set, which refuses
//! to move a checkpoint that another instance has moved since.

use std::{fmt::Display, future::Future, pin::pin, time::Duration};

use chrono::Utc;
use tokio::{sync::watch, time::timeout};

use es_core::Liveness;

use crate::{
    check_lease_holder, check_lease_name, LeaderConfig, LeaseError, LeaseInfo, LeaseStore, Role,
};

/// Why [`Leader::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaderExit {
    /// The shutdown signal fired; a held lease was released.
    Shutdown,
    /// The work returned `Ok(())`; its lease was released.
    WorkFinished,
}

/// Runs work under a lease on at most one instance at a time.
///
/// ```
/// use es_lease::{InMemoryLeases, Leader, LeaderConfig, LeaderExit};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let leases = InMemoryLeases::new();
/// let leader = Leader::new(leases.clone(), "booking-relay", "instance-1", LeaderConfig::new())?;
/// let role = leader.role();
/// let exit = leader
///     .run(std::future::pending(), |lease| async move {
///         // The relay would run here; it is cancelled if the lease is lost.
///         assert_eq!(lease.name(), "booking-relay");
///         Ok::<(), std::io::Error>(())
///     })
///     .await;
/// assert_eq!(exit, LeaderExit::WorkFinished);
/// assert_eq!(role.borrow().as_str(), "stopped");
/// assert_eq!(leases.current_holder("booking-relay"), None); // released
/// # Ok::<(), es_lease::LeaseError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Leader<S> {
    store: S,
    name: String,
    holder: String,
    config: LeaderConfig,
    role: watch::Sender<Role>,
}

/// What ended one term as leader.
enum TermEnd<E> {
    Shutdown,
    Lost(crate::LeaseLost),
    /// The work held work in hand without progress this long.
    Stalled(Duration),
    Finished(Result<(), E>),
}

impl<S: LeaseStore> Leader<S> {
    /// A leader loop for the lease `name` (the work, for example
    /// `booking-relay`), taken as `holder` (this instance, for example
    /// `booking@host-1:4242`; shown to operators). Both are checked with
    /// [`check_lease_name`] and [`check_lease_holder`].
    pub fn new(
        store: S,
        name: impl Into<String>,
        holder: impl Into<String>,
        config: LeaderConfig,
    ) -> Result<Self, LeaseError> {
        let (name, holder) = (name.into(), holder.into());
        check_lease_name(&name)?;
        check_lease_holder(&holder)?;
        Ok(Self {
            store,
            name,
            holder,
            config,
            role: watch::channel(Role::Standby { since: Utc::now() }).0,
        })
    }

    /// The lease name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This instance's holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// This instance's role, updated as it changes (for `/health`).
    pub fn role(&self) -> watch::Receiver<Role> {
        self.role.subscribe()
    }

    /// Competes for the lease until `shutdown` resolves or the work returns
    /// `Ok(())`: see the module docs. `work` is called with the lease each
    /// time this instance becomes leader; its future is dropped when the
    /// lease is lost or at shutdown (after the stop grace, during which
    /// [`LeaseInfo::stopping`] has resolved). Failures (store unreachable, work
    /// errors) are logged and retried after the retry interval.
    pub async fn run<W, Fut, E>(&self, shutdown: impl Future<Output = ()>, work: W) -> LeaderExit
    where
        W: FnMut(LeaseInfo) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        self.run_watching(shutdown, None, work).await
    }

    /// [`run`](Self::run), deposing this instance when `liveness` (the
    /// work's reports) shows work in hand without progress for the
    /// [stall timeout](LeaderConfig::with_stall_timeout): see the module docs.
    /// The liveness is reset to idle at the start of each term.
    pub async fn run_watching<W, Fut, E>(
        &self,
        shutdown: impl Future<Output = ()>,
        liveness: Option<&Liveness>,
        mut work: W,
    ) -> LeaderExit
    where
        W: FnMut(LeaseInfo) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut shutdown = pin!(shutdown);
        self.set_role(Role::Standby { since: Utc::now() });
        loop {
            let attempt = tokio::select! {
                biased;
                () = &mut shutdown => return self.stopped(LeaderExit::Shutdown),
                attempt = timeout(
                    self.config.acquire_timeout(),
                    self.store.try_acquire(&self.name, &self.holder),
                ) => attempt,
            };
            let lease = match attempt {
                Ok(Ok(lease)) => lease,
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.name, holder = %self.holder, %error, "cannot take the lease; retrying");
                    None
                }
                Err(_) => {
                    tracing::warn!(lease = %self.name, holder = %self.holder, timeout = ?self.config.acquire_timeout(), "taking the lease timed out; retrying");
                    None
                }
            };
            let Some(lease) = lease else {
                if self.pause(&mut shutdown).await {
                    return self.stopped(LeaderExit::Shutdown);
                }
                continue;
            };
            tracing::info!(lease = %self.name, holder = %self.holder, "took the lease: leader");
            self.set_role(Role::Leader { since: Utc::now() });
            // The work lives in this block only: it is dropped before the
            // lease is released or the instance goes back to standby.
            if let Some(liveness) = liveness {
                liveness.idle();
            }
            let end = {
                let (stop, stop_requested) = watch::channel(false);
                let info = lease.info();
                let mut running = pin!(work(info.clone().with_stop(stop_requested)));
                let end = tokio::select! {
                    biased;
                    () = &mut shutdown => TermEnd::Shutdown,
                    reason = info.lost() => TermEnd::Lost(reason),
                    stalled = stall(liveness, self.config.stall_timeout()) => TermEnd::Stalled(stalled),
                    outcome = &mut running => TermEnd::Finished(outcome),
                };
                if matches!(end, TermEnd::Shutdown | TermEnd::Lost(_)) {
                    self.let_work_stop(stop, running).await;
                }
                match end {
                    // Work that stops on `LeaseInfo::stopping` returns `Ok`
                    // when the lease is lost; if it saw the loss before
                    // `lost()` above did (the keeper runs on another
                    // thread), that is still a lost lease, not work that
                    // finished: back to standby, never out of the loop.
                    TermEnd::Finished(Ok(())) if info.is_lost() => TermEnd::Lost(info.lost().await),
                    end => end,
                }
            };
            match end {
                TermEnd::Lost(reason) => {
                    tracing::warn!(lease = %self.name, holder = %self.holder, %reason, "lost the lease: standby");
                    drop(lease);
                }
                TermEnd::Stalled(stalled) => {
                    tracing::warn!(lease = %self.name, holder = %self.holder, ?stalled, limit = ?self.config.stall_timeout(), "the work made no progress with work in hand: deposed, released the lease");
                    self.release_within(lease).await;
                    if let Some(liveness) = liveness {
                        liveness.idle();
                    }
                    self.set_role(Role::Deposed { since: Utc::now() });
                    // Sit out one stall timeout, so a healthy standby wins.
                    let sit_out = self.config.stall_timeout();
                    let sat_out = tokio::select! {
                        biased;
                        () = &mut shutdown => false,
                        () = tokio::time::sleep(sit_out) => true,
                    };
                    if !sat_out {
                        return self.stopped(LeaderExit::Shutdown);
                    }
                }
                TermEnd::Shutdown => {
                    self.release(lease).await;
                    return self.stopped(LeaderExit::Shutdown);
                }
                TermEnd::Finished(Ok(())) => {
                    self.release(lease).await;
                    return self.stopped(LeaderExit::WorkFinished);
                }
                TermEnd::Finished(Err(error)) => {
                    tracing::warn!(lease = %self.name, holder = %self.holder, %error, "the work failed: released the lease, standby");
                    self.release(lease).await;
                }
            }
            self.set_role(Role::Standby { since: Utc::now() });
            if self.pause(&mut shutdown).await {
                return self.stopped(LeaderExit::Shutdown);
            }
        }
    }

    /// Asks the work to stop and waits up to the stop grace for it to return.
    async fn let_work_stop<Fut, E>(
        &self,
        stop: watch::Sender<bool>,
        running: std::pin::Pin<&mut Fut>,
    ) where
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let grace = self.config.stop_grace();
        if grace.is_zero() {
            return;
        }
        stop.send_replace(true);
        match timeout(grace, running).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.name, holder = %self.holder, %error, "the work failed while stopping");
            }
            Err(_) => {
                tracing::warn!(lease = %self.name, holder = %self.holder, ?grace, "the work did not stop within its grace; dropped");
            }
        }
    }

    /// Waits one retry interval; `true` if the shutdown signal fired first.
    async fn pause(&self, shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
        let retry: Duration = self.config.retry_interval();
        tokio::select! {
            biased;
            () = shutdown.as_mut() => true,
            () = tokio::time::sleep(retry) => false,
        }
    }

    /// Releases `lease`, giving up after the acquire timeout (its store may
    /// be as stuck as the work was; the lease then runs out by itself).
    async fn release_within(&self, lease: crate::Lease) {
        let limit = self.config.acquire_timeout();
        if timeout(limit, self.release(lease)).await.is_err() {
            tracing::warn!(lease = %self.name, holder = %self.holder, ?limit, "releasing the lease timed out");
        }
    }

    async fn release(&self, lease: crate::Lease) {
        if let Err(error) = lease.release().await {
            tracing::warn!(lease = %self.name, holder = %self.holder, %error, "releasing the lease failed");
        }
    }

    fn stopped(&self, exit: LeaderExit) -> LeaderExit {
        tracing::info!(lease = %self.name, holder = %self.holder, ?exit, "stopped competing for the lease");
        self.set_role(Role::Stopped { since: Utc::now() });
        exit
    }

    fn set_role(&self, role: Role) {
        self.role.send_replace(role);
    }
}

/// Resolves once `liveness` shows work in hand without progress for
/// `limit` (with how long); never without a liveness. Checks ten times per
/// limit (at least every 10 ms, at most every 500 ms).
async fn stall(liveness: Option<&Liveness>, limit: Duration) -> Duration {
    let Some(liveness) = liveness else {
        return std::future::pending().await;
    };
    let every = (limit / 10).clamp(Duration::from_millis(10), Duration::from_millis(500));
    loop {
        if let Some(stalled) = liveness.stalled_for() {
            if stalled >= limit {
                return stalled;
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Runs `work` under the lease `name` until `shutdown` resolves or the work
/// returns `Ok(())`: a [`Leader`] without a role channel. See [`Leader::run`].
pub async fn run_as_leader<S, W, Fut, E>(
    store: S,
    name: &str,
    holder: &str,
    config: LeaderConfig,
    shutdown: impl Future<Output = ()>,
    work: W,
) -> Result<LeaderExit, LeaseError>
where
    S: LeaseStore,
    W: FnMut(LeaseInfo) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    Ok(Leader::new(store, name, holder, config)?
        .run(shutdown, work)
        .await)
}
