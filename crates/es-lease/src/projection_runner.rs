//! A projection runner as leader-or-standby work: see [`LeaderWork`].
//!
//! Several instances of a service may each build the same runner; run it with
//! [`Leader::serve`](crate::Leader::serve) and only the lease holder applies
//! events. The runner's transactional checkpoint compare-and-set is the
//! fence: a deposed leader's commit fails and it goes back to standby.

use async_trait::async_trait;

use es_core::{CheckpointStore, EventStore, Projection, ProjectionError, ProjectionRunner};

use crate::{LeaderWork, LeaseInfo, Liveness};

#[async_trait]
impl<S, C, P> LeaderWork for ProjectionRunner<S, C, P>
where
    S: EventStore + Clone + Send + Sync,
    C: CheckpointStore + Send + Sync,
    P: Projection<C::Transaction> + Send + Sync,
{
    type Error = ProjectionError;

    /// [`ProjectionRunner::run_until`] the lease's stop request.
    async fn work_under(&self, lease: LeaseInfo) -> Result<(), ProjectionError> {
        self.run_until(lease.stopping()).await
    }

    fn is_fenced(error: &ProjectionError) -> bool {
        matches!(error, ProjectionError::CheckpointMoved { .. })
    }

    /// [`ProjectionRunner::liveness`]: busy while reading or applying a
    /// batch, idle while waiting for events.
    fn liveness(&self) -> Option<&Liveness> {
        Some(ProjectionRunner::liveness(self))
    }
}
