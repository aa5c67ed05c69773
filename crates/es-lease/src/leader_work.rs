//! Workers that must run alone, served by the one leader/standby loop.
//!
//! The outbox relay and every projection runner follow the same life under a
//! lease: work while leader, stop cleanly when asked, and read a checkpoint
//! compare-and-set that fails as "another instance leads now" rather than as
//! a fault. [`LeaderWork`] is that contract and [`Leader::serve`] the single
//! loop that runs any such worker, so no worker carries its own copy.

use std::fmt;

use async_trait::async_trait;

use crate::{Leader, LeaderExit, LeaseInfo, LeaseStore, Liveness};

/// A worker that runs on one instance at a time, under a lease.
///
/// Implemented for `es_core::ProjectionRunner` (in this crate) and by `es_amqp::Relay`; run it
/// with [`Leader::serve`].
#[async_trait]
pub trait LeaderWork: Send + Sync {
    /// What ends the work early.
    type Error: fmt::Display + Send;

    /// Works until [`LeaseInfo::stopping`] resolves, then stops cleanly
    /// (saving what must be saved) and returns `Ok(())`. An error sends the
    /// instance back to standby.
    async fn work_under(&self, lease: LeaseInfo) -> Result<(), Self::Error>;

    /// Whether `error` is the fence: another instance moved this worker's
    /// checkpoint, so this one lost the lease (it may not have noticed yet).
    fn is_fenced(error: &Self::Error) -> bool;

    /// What the work reports about its progress, so that [`Leader::serve`]
    /// deposes it when it is stuck with work in hand (see
    /// [`LeaderConfig::with_stall_timeout`](crate::LeaderConfig::with_stall_timeout)).
    /// `None` (the default): never deposed for a stall.
    fn liveness(&self) -> Option<&Liveness> {
        None
    }
}

/// Why one term of a served worker ended early.
#[derive(Debug)]
pub enum WorkEnd<E> {
    /// Another instance moved the checkpoint: this one lost the lease.
    Fenced(E),
    /// The work failed.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for WorkEnd<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkEnd::Fenced(error) => write!(
                f,
                "fenced: another instance moved the checkpoint, so this one lost the lease ({error})"
            ),
            WorkEnd::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl<S: LeaseStore> Leader<S> {
    /// Runs `work` whenever this instance leads, until `shutdown` resolves:
    /// [`Leader::run_watching`] with a [`LeaderWork`] and its liveness. A lost
    /// lease, a fenced checkpoint, a stall or a failure sends the instance
    /// back to standby; it never ends the process. Give the leader a
    /// [stop grace](crate::LeaderConfig::with_stop_grace) so the work can
    /// save its checkpoint when it is asked to stop.
    ///
    /// ```
    /// use es_lease::{
    ///     async_trait, InMemoryLeases, Leader, LeaderConfig, LeaderExit, LeaderWork, LeaseInfo,
    /// };
    ///
    /// struct Idle;
    ///
    /// #[async_trait]
    /// impl LeaderWork for Idle {
    ///     type Error = std::io::Error;
    ///     async fn work_under(&self, lease: LeaseInfo) -> Result<(), Self::Error> {
    ///         lease.stopping().await;
    ///         Ok(())
    ///     }
    ///     fn is_fenced(_: &Self::Error) -> bool {
    ///         false
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let leader = Leader::new(InMemoryLeases::new(), "idle", "instance-1", LeaderConfig::new())?;
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let mut role = leader.role();
    /// let serving = leader.serve(async { let _ = stopped.await; }, &Idle);
    /// let stopping = async {
    ///     role.wait_for(|role| role.is_leader()).await.unwrap();
    ///     stop.send(()).unwrap();
    /// };
    /// let (exit, ()) = tokio::join!(serving, stopping);
    /// assert_eq!(exit, LeaderExit::Shutdown);
    /// # Ok::<(), es_lease::LeaseError>(())
    /// # }).unwrap();
    /// ```
    pub async fn serve<W: LeaderWork>(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
        work: &W,
    ) -> LeaderExit {
        self.run_watching(shutdown, work.liveness(), |lease| async move {
            work.work_under(lease).await.map_err(|error| {
                if W::is_fenced(&error) {
                    WorkEnd::Fenced(error)
                } else {
                    WorkEnd::Failed(error)
                }
            })
        })
        .await
    }
}
